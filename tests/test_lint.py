"""The interaction-model linter: a clean package passes, and each planted fault is found, alone."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill_tools.lint import MODEL_JSON, REQUIRED_BUILTINS, SKILL_JSON, lint

FIXTURE = Path(__file__).parent / "fixtures" / "lint" / "valid"
REAL_PACKAGE = Path(__file__).resolve().parent.parent / "interaction_model"

Model = dict[str, Any]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A fresh copy of the small valid skill package, ready for one fault (the icons are the project's)."""
    target = tmp_path / "package"
    shutil.copytree(FIXTURE, target)
    shutil.copytree(REAL_PACKAGE / "assets", target / "assets")
    return target


def edit_model(package: Path, change: Callable[[Model], None]) -> None:
    path = package / MODEL_JSON
    model = json.loads(path.read_text())
    change(model["interactionModel"]["languageModel"])
    path.write_text(json.dumps(model, indent=2))


def edit_manifest(package: Path, change: Callable[[Model], None]) -> None:
    path = package / SKILL_JSON
    skill = json.loads(path.read_text())
    change(skill["manifest"])
    path.write_text(json.dumps(skill, indent=2))


def intent(language: Model, name: str) -> Model:
    return next(i for i in language["intents"] if i["name"] == name)


def slot_type(language: Model, name: str) -> Model:
    return next(t for t in language["types"] if t["name"] == name)


def only_problem(package: Path, handled: set[str] | None = None) -> str:
    problems = lint(package, handled)
    assert len(problems) == 1, problems
    return problems[0]


def handled_by_fixture() -> set[str]:
    model = json.loads((FIXTURE / MODEL_JSON).read_text())
    return {i["name"] for i in model["interactionModel"]["languageModel"]["intents"]}


# --- clean packages --------------------------------------------------------------------------


def test_the_small_valid_package_has_no_problems(package: Path) -> None:
    assert lint(package) == []
    assert lint(package, handled_by_fixture()) == []


def test_the_projects_real_package_passes() -> None:
    if not (REAL_PACKAGE / MODEL_JSON).exists():
        pytest.skip("interaction_model/ is not written yet")
    assert lint(REAL_PACKAGE) == []


# --- skill.json ------------------------------------------------------------------------------


def test_a_missing_skill_json_is_reported(package: Path) -> None:
    (package / SKILL_JSON).unlink()
    assert only_problem(package) == "skill.json: -: file is missing"


def test_a_skill_json_that_is_not_json_is_reported_with_its_position(package: Path) -> None:
    (package / SKILL_JSON).write_text('{"manifest": {,}}')
    problem = only_problem(package)
    assert problem.startswith("skill.json: line 1 column 15: not valid JSON")


def test_a_skill_without_a_name_for_en_us_is_reported(package: Path) -> None:
    edit_manifest(package, lambda m: m["publishingInformation"]["locales"]["en-US"].update(name=""))
    assert "locales.en-US.name: missing or empty" in only_problem(package)


def test_a_skill_without_the_en_us_locale_is_reported(package: Path) -> None:
    edit_manifest(package, lambda m: m["publishingInformation"]["locales"].pop("en-US"))
    assert "no en-US locale" in only_problem(package)


# --- skill.json: what certification asks of a skill that keeps things -----------------------


def privacy(manifest: Model) -> Model:
    return manifest["privacyAndCompliance"]  # type: ignore[no-any-return]


def en_us(manifest: Model) -> Model:
    return manifest["publishingInformation"]["locales"]["en-US"]  # type: ignore[no-any-return]


def test_a_skill_without_a_privacy_policy_url_is_reported(package: Path) -> None:
    edit_manifest(package, lambda m: privacy(m).pop("locales"))
    assert only_problem(package) == ("skill.json: manifest.privacyAndCompliance.locales.en-US.privacyPolicyUrl: "
                                     "missing or empty (a privacy policy is required)")


@pytest.mark.parametrize(("url", "reason"), [
    ("http://example.org/privacy", "is not an https URL"),
    ("example.org/privacy", "is not an https URL"),
    ("https://", "is not a well-formed URL"),
    ("https://localhost/privacy", "is not a well-formed URL"),
    ("https://example.org/my privacy", "is not a well-formed URL"),
])
def test_a_privacy_policy_url_that_is_not_well_formed_https_is_reported(package: Path, url: str, reason: str) -> None:
    edit_manifest(package, lambda m: privacy(m)["locales"]["en-US"].update(privacyPolicyUrl=url))
    problem = only_problem(package)
    assert problem.startswith("skill.json: manifest.privacyAndCompliance.locales.en-US.privacyPolicyUrl: ")
    assert reason in problem


def test_terms_of_use_are_optional_but_if_given_must_be_https(package: Path) -> None:
    edit_manifest(package, lambda m: privacy(m)["locales"]["en-US"].update(termsOfUseUrl="https://example.org/terms"))
    assert lint(package) == []
    edit_manifest(package, lambda m: privacy(m)["locales"]["en-US"].update(termsOfUseUrl="ftp://example.org/terms"))
    assert "termsOfUseUrl: 'ftp://example.org/terms' is not an https URL" in only_problem(package)


def test_keeping_a_profile_without_declaring_personal_info_is_reported(package: Path) -> None:
    edit_manifest(package, lambda m: privacy(m).update(usesPersonalInfo=False))
    problem = only_problem(package)
    assert problem.startswith("skill.json: manifest.privacyAndCompliance.usesPersonalInfo: false, but the skill keeps ")
    assert "bedtime" in problem and "preferred_form" in problem  # named from the skill's own profile model


def test_a_skill_that_keeps_nothing_may_say_it_uses_no_personal_info(package: Path) -> None:
    edit_manifest(package, lambda m: privacy(m).update(usesPersonalInfo=False))
    edit_manifest(package, lambda m: m.pop("events"))
    assert lint(package, stored_fields=()) == []


@pytest.mark.parametrize("flag", ["usesPersonalInfo", "isChildDirected", "usesHealthInfo", "isExportCompliant"])
def test_every_privacy_question_must_be_answered_true_or_false(package: Path, flag: str) -> None:
    edit_manifest(package, lambda m: privacy(m).update({flag: "no"}))
    assert only_problem(package) == f"skill.json: manifest.privacyAndCompliance.{flag}: must be true or false"


def test_a_skill_that_keeps_things_must_hear_when_it_is_disabled(package: Path) -> None:
    edit_manifest(package, lambda m: m["events"].update(subscriptions=[{"eventName": "SKILL_ENABLED"}]))
    assert "no SKILL_DISABLED, so disabling the skill cannot delete what it keeps" in only_problem(package)


def test_events_must_go_where_requests_go(package: Path) -> None:
    here = {"uri": "arn:aws:lambda:us-east-1:123456789012:function:bedtime"}
    edit_manifest(package, lambda m: m["apis"]["custom"].update(endpoint=here))
    edit_manifest(package, lambda m: m["events"].update(endpoint={"uri": here["uri"] + "-old"}))
    assert "manifest.events.endpoint:" in only_problem(package)
    edit_manifest(package, lambda m: m["events"].update(endpoint=here))
    assert lint(package) == []


@pytest.mark.parametrize("key", ["smallIconUri", "largeIconUri"])
def test_a_missing_icon_is_reported(package: Path, key: str) -> None:
    edit_manifest(package, lambda m: en_us(m).pop(key))
    assert only_problem(package).startswith(f"skill.json: manifest.publishingInformation.locales.en-US.{key}: missing")


def test_an_icon_file_the_package_lacks_is_reported(package: Path) -> None:
    (package / "assets" / "images" / "en-US_largeIcon.png").unlink()
    assert "largeIconUri: 'file://assets/images/en-US_largeIcon.png' names a file the package does not have" in (
        only_problem(package))


def test_icons_of_the_wrong_size_are_reported(package: Path) -> None:
    images = package / "assets" / "images"
    small, large = images / "en-US_smallIcon.png", images / "en-US_largeIcon.png"
    small_bytes = small.read_bytes()
    small.write_bytes(large.read_bytes())
    large.write_bytes(small_bytes)
    problems = lint(package)
    assert problems == [
        "skill.json: manifest.publishingInformation.locales.en-US.smallIconUri: "
        "'file://assets/images/en-US_smallIcon.png' is 512 x 512; it must be 108 x 108",
        "skill.json: manifest.publishingInformation.locales.en-US.largeIconUri: "
        "'file://assets/images/en-US_largeIcon.png' is 108 x 108; it must be 512 x 512",
    ]


def test_an_icon_that_is_not_a_png_is_reported(package: Path) -> None:
    (package / "assets" / "images" / "en-US_smallIcon.png").write_bytes(b"GIF89a not a png at all, really")
    assert "is not a PNG" in only_problem(package)


def test_an_icon_outside_the_package_is_reported(package: Path) -> None:
    edit_manifest(package, lambda m: en_us(m).update(smallIconUri="file://../../etc/icon.png"))
    assert "points outside the skill package" in only_problem(package)


def test_an_icon_at_an_https_url_is_accepted_and_an_http_one_is_not(package: Path) -> None:
    edit_manifest(package, lambda m: en_us(m).update(largeIconUri="https://example.org/icons/large.png"))
    assert lint(package) == []
    edit_manifest(package, lambda m: en_us(m).update(largeIconUri="http://example.org/icons/large.png"))
    assert "largeIconUri: 'http://example.org/icons/large.png' is not an https URL" in only_problem(package)


# --- en-US.json structure --------------------------------------------------------------------


def test_a_model_that_is_not_json_is_reported(package: Path) -> None:
    (package / MODEL_JSON).write_text("{\n  'single quotes': 1\n}")
    problem = only_problem(package)
    assert problem.startswith(f"{MODEL_JSON}: line 2 column 3: not valid JSON")


def test_a_model_without_a_language_model_is_reported(package: Path) -> None:
    (package / MODEL_JSON).write_text(json.dumps({"interactionModel": {}}))
    assert only_problem(package) == f"{MODEL_JSON}: interactionModel.languageModel: missing"


def test_an_intent_without_a_name_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: lm["intents"].append({"samples": ["hello there"]}))
    assert only_problem(package) == f"{MODEL_JSON}: intents[11]: an intent needs a name"


def test_a_missing_package_directory_is_one_clear_line(tmp_path: Path) -> None:
    problems = lint(tmp_path / "nowhere")
    assert len(problems) == 1 and "not a directory" in problems[0]


# --- invocation name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Bedtime Helper", "only lowercase letters, spaces, periods and apostrophes"),
        ("bedtime helper 2", "only lowercase letters, spaces, periods and apostrophes"),
        ("bedtime skill", "contains 'skill': launch phrases and wake words are not allowed"),
        ("alexa bedtime", "contains 'alexa'"),
        ("ask bedtime", "contains 'ask'"),
        ("bedtime", "is one word"),
        ("the bedtime", "two words and one is an article"),
        ("very calm and quiet and gentle helper for the sleepy", "at most 50"),
    ],
)
def test_each_invocation_name_rule_is_enforced(package: Path, name: str, expected: str) -> None:
    edit_model(package, lambda lm: lm.update(invocationName=name))
    problem = only_problem(package)
    assert problem.startswith(f"{MODEL_JSON}: invocationName: '{name}'")
    assert expected in problem


def test_an_abbreviation_and_a_possessive_are_fine_in_an_invocation_name(package: Path) -> None:
    edit_model(package, lambda lm: lm.update(invocationName="sam's m. g. helper"))
    assert lint(package) == []


# --- intents, slots and samples --------------------------------------------------------------


def test_a_sample_using_an_undeclared_slot_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].append("why does magnesium help {symptom}"))
    problem = only_problem(package)
    assert problem.startswith(f"{MODEL_JSON}: intents[WhyIntent].samples[10]:")
    assert "uses slot {symptom}, which this intent does not declare" in problem


def test_a_slot_of_an_unknown_type_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "FormInfoIntent")["slots"][0].update(type="ShapeType"))
    assert only_problem(package) == (
        f"{MODEL_JSON}: intents[FormInfoIntent].slots[form]: "
        "type ShapeType is neither a custom type of this model nor an AMAZON.* type"
    )


def test_a_custom_intent_with_fewer_than_ten_samples_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "FormInfoIntent")["samples"].pop())
    assert only_problem(package) == (
        f"{MODEL_JSON}: intents[FormInfoIntent].samples: only 9 samples; a custom intent needs at least 10"
    )


@pytest.mark.parametrize("required", REQUIRED_BUILTINS)
def test_each_required_built_in_intent_must_be_present(package: Path, required: str) -> None:
    edit_model(package, lambda lm: lm.update(intents=[i for i in lm["intents"] if i["name"] != required]))
    assert only_problem(package) == f"{MODEL_JSON}: intents: required built-in intent {required} is missing"


def test_a_sample_with_digits_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "DoseIntent")["samples"].append("is 300 milligrams too much"))
    assert "contains digits; spell numbers out as words" in only_problem(package)


def test_a_sample_with_a_question_mark_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "DoseIntent")["samples"].append("how much is too much?"))
    problem = only_problem(package)
    assert "'?'" in problem and "only letters, spaces, apostrophes, periods and hyphens" in problem


def test_a_sample_with_a_broken_slot_brace_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "FormInfoIntent")["samples"].append("what about {form"))
    assert "has an unmatched brace" in only_problem(package)


def test_a_sample_repeated_within_an_intent_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].append("Why  magnesium"))
    assert only_problem(package).endswith("'Why  magnesium' repeats samples[6]")


def test_the_same_utterance_under_two_intents_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].append("how much should i take"))
    problem = only_problem(package)
    assert problem == (
        # Reported at the later intent in the file, naming the earlier one.
        f"{MODEL_JSON}: intents[DoseIntent]: sample 'how much should i take' is also claimed by "
        "WhyIntent sample 'how much should i take'"
    )


def test_an_utterance_that_collides_once_a_slot_is_filled_is_reported(package: Path) -> None:
    # "tell me about {form}" already says "tell me about bisglycinate", via a synonym.
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].append("tell me about bisglycinate"))
    assert only_problem(package) == (
        f"{MODEL_JSON}: intents[FormInfoIntent]: sample 'tell me about {{form}}' is also claimed by "
        "WhyIntent sample 'tell me about bisglycinate' (as 'tell me about bisglycinate')"
    )


def test_overlaps_are_worked_out_once_for_the_same_intents_and_types(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skill_tools import lint as lint_module

    monkeypatch.setattr(lint_module, "_CONFLICTS", {})
    worked_out: list[int] = []
    conflicts = lint_module._ModelLinter._conflicts

    def counted(self: Any) -> list[tuple[str, str]]:
        worked_out.append(1)
        return conflicts(self)

    monkeypatch.setattr(lint_module._ModelLinter, "_conflicts", counted)
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].append("how much should i take"))
    first = lint(package)
    assert len(first) == 1 and "is also claimed by WhyIntent" in first[0] and len(worked_out) == 1
    assert lint(package) == first and len(worked_out) == 1  # the same intents and types: not worked out again
    edit_model(package, lambda lm: intent(lm, "WhyIntent")["samples"].remove("how much should i take"))
    assert lint(package) == [] and len(worked_out) == 2  # changed: worked out afresh


def test_built_in_slots_of_one_type_collide_with_each_other(package: Path) -> None:
    def plant(lm: Model) -> None:
        intent(lm, "WhyIntent")["slots"] = [{"name": "bedtime", "type": "AMAZON.TIME"}]
        intent(lm, "WhyIntent")["samples"].append("remind me at {bedtime}")

    edit_model(package, plant)
    assert only_problem(package).endswith(
        "intents[ReminderIntent]: sample 'remind me at {time}' is also claimed by "
        "WhyIntent sample 'remind me at {bedtime}' (as 'remind me at <AMAZON.TIME>')"
    )


# --- slot types ------------------------------------------------------------------------------


def test_a_slot_value_listed_twice_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: slot_type(lm, "FormType")["values"].append({"name": {"value": "Citrate"}}))
    assert only_problem(package) == f"{MODEL_JSON}: types[FormType].values[Citrate]: value 'Citrate' is listed twice"


def test_a_synonym_claimed_by_two_values_is_reported(package: Path) -> None:
    edit_model(package, lambda lm: slot_type(lm, "FormType")["values"][1]["name"]["synonyms"].append("bisglycinate"))
    assert only_problem(package) == (
        f"{MODEL_JSON}: types[FormType].values[citrate]: 'bisglycinate' is claimed by both 'glycinate' and 'citrate'"
    )


# --- the model and the handlers agree --------------------------------------------------------


def test_an_intent_nobody_handles_is_reported(package: Path) -> None:
    handled = handled_by_fixture() - {"ReminderIntent"}
    assert only_problem(package, handled) == f"{MODEL_JSON}: intents[ReminderIntent]: no handler handles this intent"


def test_a_handler_for_an_intent_the_model_lacks_is_reported(package: Path) -> None:
    handled = handled_by_fixture() | {"WindDownIntent"}
    assert only_problem(package, handled) == (
        f"{MODEL_JSON}: intents: a handler handles WindDownIntent, which the model does not declare"
    )


def test_handling_an_extra_amazon_intent_is_not_a_problem(package: Path) -> None:
    assert lint(package, handled_by_fixture() | {"AMAZON.PauseIntent", "AMAZON.ResumeIntent"}) == []


# --- anything at all in the file: problem lines, never a stack trace --------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["name", "type", "slots", "samples", "values", "synonyms", "value", "id", "intents", "types"]), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(language=st.dictionaries(st.sampled_from(["invocationName", "intents", "types"]), _json, max_size=3))
def test_a_mangled_model_gives_problem_lines_not_a_crash(package: Path, language: Model) -> None:
    (package / MODEL_JSON).write_text(json.dumps({"interactionModel": {"languageModel": language}}))
    problems = lint(package)
    assert problems and all(p.startswith(f"{MODEL_JSON}: ") for p in problems)
