"""Name-free interaction: Alexa asks "could you serve this?" and the skill answers truthfully, changing nothing.

    Alexa: CanFulfill DoseIntent, amount=400, unit=milligrams      Skill: YES (amount YES/YES, unit YES/YES)
    Alexa: CanFulfill FormInfoIntent, form=malate                   Skill: MAYBE (form NO/NO: it lists the forms it knows)
    Alexa: CanFulfill DoseIntent, condition=lupus                   Skill: MAYBE (condition MAYBE/YES: the gate answers)
    Alexa: CanFulfill ForgetMeIntent / AMAZON.HelpIntent / Other    Skill: NO
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.builder import build_skill, handled_intents
from skill.handlers.can_fulfill import NAME_FREE_INTENTS, UNDERSTANDS
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from tests.recording_store import RecordingStore
from tests.conversation import SKILL_ID, envelope
from tests.test_events import lambda_entry

MODEL = Path(__file__).resolve().parent.parent / "interaction_model" / "interactionModels" / "custom" / "en-US.json"
LANGUAGE_MODEL = json.loads(MODEL.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
SLOT_TYPES = {intent["name"]: {s["name"]: s["type"] for s in intent.get("slots", [])}
              for intent in LANGUAGE_MODEL["intents"]}
TYPE_VALUES = {t["name"]: t["values"] for t in LANGUAGE_MODEL.get("types", [])}


def can_fulfill(intent: str, **slots: str | None) -> dict[str, Any]:
    """A CanFulfillIntentRequest as Alexa sends it: out of session, slot values as heard.

    A slot given as "id:heard" carries an entity-resolution match, as Alexa sends for a known value.
    """
    filled: dict[str, Any] = {}
    for name, value in slots.items():
        entry: dict[str, Any] = {"name": name}
        if value is not None:
            resolved, _, heard = value.partition(":") if ":" in value else (None, "", value)
            entry["value"] = heard
            if resolved:
                entry["resolutions"] = {"resolutionsPerAuthority": [{
                    "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.{name}",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": heard, "id": resolved}}]}]}
        filled[name] = entry
    return envelope({"type": "CanFulfillIntentRequest", "intent": {"name": intent, "slots": filled}})




@pytest.fixture
def store(tmp_path: Path) -> Any:
    adapter = RecordingStore(tmp_path / "bedtime.sqlite3")
    yield adapter
    adapter.close()


@pytest.fixture
def skill(settings: Settings, store: RecordingStore) -> SkillRunner:
    return SkillRunner(build_skill(settings, persistence=store))


def ask(runner: SkillRunner, intent: str, **slots: str | None) -> dict[str, Any]:
    """Alexa: could you serve this? -> the skill's canFulfillIntent, after checking nothing else came back."""
    sent = can_fulfill(intent, **slots)
    answer = runner.invoke(sent)
    assert set(answer["response"]) == {"canFulfillIntent"}  # no speech, card, reprompt, directive or session flag
    assert answer.get("sessionAttributes", {}) == sent["session"]["attributes"]
    return answer["response"]["canFulfillIntent"]  # type: ignore[no-any-return]


def slot(verdict: dict[str, Any], name: str) -> tuple[str, str]:
    return verdict["slots"][name]["canUnderstand"], verdict["slots"][name]["canFulfill"]


# --- what the skill claims -----------------------------------------------------------------


def test_the_name_free_intents_are_intents_the_skill_serves() -> None:
    assert NAME_FREE_INTENTS <= handled_intents()
    assert not any(name.startswith("AMAZON.") for name in NAME_FREE_INTENTS)


def test_every_slot_of_a_name_free_intent_can_be_judged() -> None:
    """A slot the model adds to a name-free intent must get a way to be understood, or this fails."""
    for intent in NAME_FREE_INTENTS:
        assert set(SLOT_TYPES[intent]) <= set(UNDERSTANDS), intent


@pytest.mark.parametrize("slot_name", ["form", "need", "condition", "mechanism", "unit"])
def test_every_value_and_synonym_in_the_model_is_understood(skill: SkillRunner, slot_name: str) -> None:
    intent = next(i for i in sorted(NAME_FREE_INTENTS) if slot_name in SLOT_TYPES[i])
    for value in TYPE_VALUES[SLOT_TYPES[intent][slot_name]]:
        for heard in [value["name"]["value"], *value["name"].get("synonyms", [])]:
            verdict = ask(skill, intent, **{slot_name: f"{value['id']}:{heard}"})
            assert verdict["canFulfill"] == "YES", (slot_name, heard)
            assert slot(verdict, slot_name) == ("YES", "YES")
        # Entity resolution aside, the words for the value itself are known too.
        assert slot(ask(skill, intent, **{slot_name: value["name"]["value"]}), slot_name) == ("YES", "YES")


def test_a_dose_question_with_an_amount_and_unit_is_a_yes(skill: SkillRunner) -> None:
    verdict = ask(skill, "DoseIntent", amount="400", unit="mg:milligrams")
    assert verdict["canFulfill"] == "YES"
    assert slot(verdict, "amount") == ("YES", "YES") and slot(verdict, "unit") == ("YES", "YES")


def test_a_question_with_no_slots_filled_is_a_yes(skill: SkillRunner) -> None:
    verdict = ask(skill, "DoseIntent", amount=None, unit=None, form=None, condition=None)
    assert verdict == {"canFulfill": "YES"}  # empty slots are left out of the answer
    assert ask(skill, "WhyMagnesiumIntent") == {"canFulfill": "YES"}


def test_a_form_the_skill_does_not_know_is_a_maybe(skill: SkillRunner) -> None:
    verdict = ask(skill, "FormInfoIntent", form="malate")
    assert verdict["canFulfill"] == "MAYBE" and slot(verdict, "form") == ("NO", "NO")


def test_an_amount_alexa_could_not_make_out_is_a_maybe(skill: SkillRunner) -> None:
    verdict = ask(skill, "DoseIntent", amount="?")
    assert verdict["canFulfill"] == "MAYBE" and slot(verdict, "amount") == ("NO", "NO")


@pytest.mark.parametrize("heard", ["psoriasis", "shingles", "?", "x" * 500])
def test_a_health_condition_is_never_a_no(skill: SkillRunner, heard: str) -> None:
    for intent in ("DoseIntent", "SafetyIntent"):
        verdict = ask(skill, intent, condition=heard)
        assert verdict["canFulfill"] == "MAYBE"
        assert slot(verdict, "condition") == ("MAYBE", "YES")  # the safety gate answers whatever was named


def test_a_known_condition_is_a_yes(skill: SkillRunner) -> None:
    verdict = ask(skill, "DoseIntent", amount="300", condition="kidney disease")
    assert verdict["canFulfill"] == "YES" and slot(verdict, "condition") == ("YES", "YES")


@pytest.mark.parametrize(
    "intent",
    ["ForgetMeIntent", "CancelReminderIntent", "ReminderIntent", "SetBedtimeIntent", "SetPreferenceIntent",
     "DoseTakenIntent", "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.YesIntent", "AMAZON.FallbackIntent",
     "PlaySoundIntent", ""],
)
def test_intents_that_change_a_persons_data_built_ins_and_strangers_are_a_no(skill: SkillRunner, intent: str) -> None:
    assert ask(skill, intent) == {"canFulfill": "NO"}


# --- it changes nothing ----------------------------------------------------------------------


def test_asking_never_touches_the_store(skill: SkillRunner, store: RecordingStore) -> None:
    for intent, slots in [("DoseIntent", {"amount": "400"}), ("WindDownIntent", {}), ("ForgetMeIntent", {}),
                          ("SetPreferenceIntent", {"form": "glycinate"}), ("FormInfoIntent", {"form": "malate"})]:
        ask(skill, intent, **slots)
    assert store.calls == []
    assert not store.path.exists() or sqlite3.connect(store.path).execute(
        "SELECT COUNT(*) FROM user_attributes").fetchone()[0] == 0


def test_session_attributes_come_back_unchanged(skill: SkillRunner) -> None:
    sent = can_fulfill("DoseIntent", amount="400")
    sent["session"]["attributes"] = {"conditions": ["kidney"], "last_said": {"lines": []}}
    answer = skill.invoke(sent)
    assert answer["sessionAttributes"] == {"conditions": ["kidney"], "last_said": {"lines": []}}


def test_a_request_without_a_session_or_user_is_answered(skill: SkillRunner) -> None:
    """Alexa's own example has no session, and name-free requests may come without a userId."""
    sent = can_fulfill("TimeToWorkIntent")
    del sent["session"]
    del sent["context"]["System"]["user"]
    answer = skill.invoke(sent)
    assert answer["response"] == {"canFulfillIntent": {"canFulfill": "YES"}} and "sessionAttributes" not in answer


# One skill for every hypothesis example (building it validates the content each time).
RUNNER = SkillRunner(build_skill(Settings(_env_file=None, verify_signature=False, persistence="none",
                                          alexa_api=False, seed=7)))


@settings(max_examples=150, deadline=None)
@given(intent=st.sampled_from(sorted(NAME_FREE_INTENTS)), values=st.dictionaries(
    st.sampled_from(["amount", "unit", "form", "condition", "need", "mechanism", "time", "zzz"]),
    st.one_of(st.text(max_size=30), st.sampled_from(["400", "glycinate", "kidney", "grams", "?", "melatonin"])),
    max_size=4))
def test_a_name_free_intent_is_never_a_no_and_yes_means_every_slot_understood(
    intent: str, values: dict[str, str]
) -> None:
    verdict = ask(RUNNER, intent, **values)
    understood = [s["canUnderstand"] for s in verdict.get("slots", {}).values()]
    assert verdict["canFulfill"] == ("YES" if all(u == "YES" for u in understood) else "MAYBE")
    if "condition" in verdict.get("slots", {}):
        assert verdict["slots"]["condition"]["canFulfill"] == "YES"


# --- over HTTP and through the Lambda entry --------------------------------------------------------


def test_over_http_and_through_lambda_the_answer_is_the_same(tmp_path: Path) -> None:
    sent = can_fulfill("FormAdviceIntent", need="falling_asleep:racing mind")
    app = create_app(Settings(_env_file=None, verify_signature=False, skill_id=SKILL_ID, persistence="sqlite",
                              data_dir=tmp_path, alexa_api=False, seed=7))
    over_http = app.test_client().post("/alexa", json=sent)
    assert over_http.status_code == 200
    with lambda_entry(BEDTIME_SKILL_ID=SKILL_ID) as entry:
        through_lambda = entry.lambda_handler(sent, None)
    expected = {"canFulfill": "YES", "slots": {"need": {"canUnderstand": "YES", "canFulfill": "YES"}}}
    assert over_http.get_json()["response"] == {"canFulfillIntent": expected}
    assert through_lambda["response"] == {"canFulfillIntent": expected}
    assert not (tmp_path / "bedtime.sqlite3").exists()  # the web service's store was never even opened
