"""The interaction model, the manifest and the request fixtures are checked artefacts.

Alexa only refuses a broken model when someone builds it in the developer console;
these tests refuse it here first: missing intents, thin sample lists, one sentence
claimed by two intents, slots that point nowhere, fixtures that drift from the model.
"""
from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from skill.builder import handled_intents
from skill.content import available_locales
from skill.handlers.base import SLOT_TYPES
from skill_tools.lint import lint
from skill_tools.model import build_model, declared_intents, render
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import IntentRequest, RequestEnvelope
from ask_sdk_model.interfaces.connections import ConnectionsResponse
from ask_sdk_model.slu.entityresolution import StatusCode

from skill_tools.simulator.nlu import Resolver

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "interaction_model"
MODEL_PATH = PACKAGE / "interactionModels" / "custom" / "en-US.json"
SKILL_JSON = PACKAGE / "skill.json"
ASK_RESOURCES = ROOT / "ask-resources.json"
FIXTURES = ROOT / "tests" / "fixtures" / "requests"
MAKE_FIXTURES = ROOT / "skill_tools" / "fixtures.py"

Json = dict[str, Any]

# The contract with the handlers is their declarations: the generated model must carry them exactly.
CUSTOM_INTENTS: dict[str, dict[str, str]] = {
    intent.name: {slot.name: slot.type for slot in intent.slots} for intent in declared_intents()
}
SLOT_TYPE_IDS: dict[str, set[str]] = {name: {str(i) for i in ids} for name, ids in SLOT_TYPES.items()}

# What people say to the built-ins; a custom sample equal to one of these would steal it.
BUILT_IN_PHRASES = {
    "help", "stop", "cancel", "never mind", "forget it", "yes", "yeah", "no", "nope",
    "repeat", "say that again", "start over", "restart", "go home", "exit",
    "next", "skip", "pause", "hold on", "wait", "resume", "continue", "carry on",
}

# Spoken numbers stand in for AMAZON.NUMBER when expanding samples.
NUMBER_WORDS = ["five hundred", "twelve hundred", "two"]
# Spoken times stand in for AMAZON.TIME, from a bare hour to a part of the evening.
TIME_WORDS = ["ten thirty", "half past ten", "eleven pm", "midnight", "in the evening"]
BUILT_IN_SPOKEN = {"AMAZON.NUMBER": NUMBER_WORDS, "AMAZON.TIME": TIME_WORDS}

# Samples that are only a slot, allowed where the skill has just asked for that value:
# "What time do you usually go to bed?" - "Ten thirty."
ANSWER_ONLY_SAMPLES = {("SetBedtimeIntent", "{time}")}

SLOT_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# A sample is lowercase words (apostrophes allowed, periods only in abbreviations like "l.") and {slots}.
SAMPLE_TOKEN = re.compile(r"^(\{[A-Za-z_][A-Za-z0-9_]*\}|[a-z]+(?:'[a-z]+)?|[a-z]\.)$")


@cache
def language_model() -> Json:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]


def intents() -> dict[str, Json]:
    return {intent["name"]: intent for intent in language_model()["intents"]}


def slot_types() -> dict[str, Json]:
    return {t["name"]: t for t in language_model().get("types", [])}


def normalise(sample: str) -> str:
    return " ".join(sample.lower().split())


def spoken_forms(slot_type: str) -> list[str]:
    """Everything a person might say into a slot of this type."""
    if slot_type in BUILT_IN_SPOKEN:
        return BUILT_IN_SPOKEN[slot_type]
    words = []
    for value in slot_types()[slot_type]["values"]:
        words.append(value["name"]["value"])
        words.extend(value["name"].get("synonyms", []))
    return words


def expand(sample: str, slots: dict[str, str]) -> set[str]:
    """Every sentence a sample stands for once its slots are filled with every known value."""
    # An undeclared slot stays literal here; its own test names it.
    names = [name for name in SLOT_REF.findall(sample) if name in slots]
    if not names:
        return {normalise(sample)}
    choices = [spoken_forms(slots[name]) for name in names]
    sentences = set()
    for filling in itertools.product(*choices):
        sentence = sample
        for name, word in zip(names, filling):
            sentence = sentence.replace("{" + name + "}", word, 1)
        sentences.add(normalise(sentence))
    return sentences


def declared_slots(intent: Json) -> dict[str, str]:
    return {slot["name"]: slot["type"] for slot in intent.get("slots", [])}


@cache
def resolver() -> Resolver:
    return Resolver.from_model(MODEL_PATH)


def load_fixtures() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.json"))}


# --- intents -----------------------------------------------------------------------------


def test_the_checked_in_model_is_what_the_declarations_generate() -> None:
    # Edit skill/content/<locale>/sentences/ or slot_types/, or a handler's declaration, then `make model`.
    for locale in available_locales():
        path = MODEL_PATH.with_name(f"{locale}.json")
        assert path.read_text(encoding="utf-8") == render(build_model(locale)), locale


def test_the_model_passes_the_linter() -> None:
    assert lint(PACKAGE, handled_intents()) == []


@pytest.mark.parametrize("name", sorted(CUSTOM_INTENTS))
def test_custom_intent_exists_with_exactly_its_slots(name: str) -> None:
    assert declared_slots(intents()[name]) == CUSTOM_INTENTS[name]


def test_no_intent_has_a_slot_only_sample_and_the_bedtime_is_asked_for_with_elicit_slot() -> None:
    for intent in intents().values():
        for sample in intent["samples"]:
            assert SLOT_REF.sub("", sample).strip(), f"{intent['name']}: slot-only sample {sample!r}"
    time_slot = next(s for s in intents()["SetBedtimeIntent"]["slots"] if s["name"] == "time")
    assert "{time}" in time_slot["samples"]  # the bare answer lives on the slot, for Dialog.ElicitSlot
    dialog = json.loads(MODEL_PATH.read_text(encoding="utf-8"))["interactionModel"]["dialog"]
    assert dialog["delegationStrategy"] == "SKILL_RESPONSE"
    assert [i["name"] for i in dialog["intents"]] == ["DoseIntent", "SetBedtimeIntent", "SetPreferenceIntent", "ReminderIntent"]


@pytest.mark.parametrize(
    "name", ["SetBedtimeIntent", "DoseTakenIntent", "ReminderIntent", "CancelReminderIntent", "ForgetMeIntent"]
)
def test_routine_and_profile_intents_can_be_said_without_any_slot(name: str) -> None:
    # "change my bedtime" has no time yet: the skill asks for it rather than falling back.
    assert any(not SLOT_REF.search(s) for s in intents()[name]["samples"])


def test_remembering_a_preference_never_sounds_like_asking_about_a_dose() -> None:
    # U: "i take three hundred milligrams is that okay" asks for advice (DoseIntent);
    # U: "remember that i take three hundred milligrams" asks the skill to remember.
    asking = re.compile(r"\b(?:okay|ok|safe|enough|too much|a good dose|is that|should i|can i|how much)\b")
    remembering = re.compile(r"\b(?:remember|save|store|note|usual|keep (?:that )?in mind)\b")
    for sample in intents()["SetPreferenceIntent"]["samples"]:
        words = SLOT_REF.sub(" ", sample)
        assert remembering.search(words), f"{sample!r} does not say remember, save or usual"
        assert not asking.search(words), f"{sample!r} sounds like a dose question"


def test_cancelling_a_reminder_and_forgetting_me_never_take_a_bare_cancel_or_stop() -> None:
    # "cancel" and "stop" must stay with the built-ins, which end the session at once.
    for name in ("CancelReminderIntent", "ForgetMeIntent"):
        for sample in intents()[name]["samples"]:
            assert len(sample.split()) >= 2, f"{name}: {sample!r}"


@pytest.mark.parametrize(
    ("said", "intent", "slots"),
    [
        # A: What time do you usually go to bed?
        ("i go to bed at half past ten pm", "SetBedtimeIntent", {"time": "22:30"}),
        ("change my bedtime", "SetBedtimeIntent", {}),
        ("i just took my magnesium", "DoseTakenIntent", {}),
        ("remind me every night", "ReminderIntent", {"time": "NI"}),  # "night" is no clock time: the skill asks
        ("stop reminding me", "CancelReminderIntent", {}),
        ("erase everything you know about me", "ForgetMeIntent", {}),
        # Remembering and asking share words; the verb decides.
        ("remember that i take 300 mg of glycinate", "SetPreferenceIntent",
         {"amount": "300", "unit": "mg", "form": "glycinate"}),
        ("i take 300 mg of glycinate", "DoseIntent", {"amount": "300", "unit": "mg", "form": "glycinate"}),
        ("my usual is magnesium glycinate", "SetPreferenceIntent", {"form": "glycinate"}),
        ("my dose is 300 mg", "DoseIntent", {"amount": "300", "unit": "mg"}),
        # The built-ins keep their one-word phrases.
        ("cancel", "AMAZON.CancelIntent", {}),
        ("forget it", "AMAZON.CancelIntent", {}),
        ("next", "AMAZON.NextIntent", {}),
        ("pause", "AMAZON.PauseIntent", {}),
        ("resume", "AMAZON.ResumeIntent", {}),
    ],
)
def test_what_people_say_reaches_the_right_intent(said: str, intent: str, slots: dict[str, str]) -> None:
    heard_as = resolver().resolve(said)
    assert heard_as.intent == intent, f"U: {said!r}"
    assert {name: m.resolved_id or m.value for name, m in heard_as.slots.items()} == slots


# --- slot types --------------------------------------------------------------------------


def test_the_words_people_use_resolve_to_the_right_ids() -> None:
    def resolves(type_name: str, word: str) -> str:
        for value in slot_types()[type_name]["values"]:
            if word in [value["name"]["value"], *value["name"].get("synonyms", [])]:
                return value["id"]
        raise AssertionError(f"{word!r} is not a {type_name}")

    assert resolves("FormType", "bisglycinate") == "glycinate"
    assert resolves("FormType", "magtein") == "threonate"
    assert resolves("MechanismType", "body clock") == "melatonin"
    assert resolves("NeedType", "racing mind") == "falling_asleep"
    assert resolves("NeedType", "diarrhoea") == "sensitive_stomach"
    assert resolves("UnitType", "milligrams") == "mg"
    assert resolves("ConditionType", "dialysis") == "kidney"
    assert resolves("ConditionType", "expecting a baby") == "pregnancy"
    assert resolves("ConditionType", "omeprazole") == "ppi"


# --- invocation, manifest, ASK CLI config -------------------------------------------------


def test_invocation_name_is_two_plain_lowercase_words_or_more() -> None:
    name = language_model()["invocationName"]
    assert name == "bedtime magnesium"
    words = name.split()
    assert name == name.lower() and len(words) >= 2
    assert all(re.fullmatch(r"[a-z]+", w) for w in words)
    assert not {"alexa", "skill", "app"} & set(words)


@cache
def manifest() -> Json:
    return json.loads(SKILL_JSON.read_text(encoding="utf-8"))["manifest"]


def test_manifest_describes_the_skill_with_a_medical_disclaimer() -> None:
    publishing = manifest()["publishingInformation"]
    locale = publishing["locales"]["en-US"]
    assert locale["name"] == "Bedtime Magnesium"
    assert locale["summary"] and len(locale["summary"]) <= 160
    description = " ".join(locale["description"].split())
    assert "for general information only and is not a substitute for professional medical advice" in description
    assert len(locale["examplePhrases"]) == 3
    for phrase in locale["examplePhrases"]:
        assert phrase == "Alexa, open bedtime magnesium" or phrase.startswith("Alexa, ask bedtime magnesium ")
    assert locale["keywords"]
    assert publishing["category"] == "HEALTH_AND_FITNESS"
    assert publishing["isAvailableWorldwide"] is False
    # Every English-speaking market the skill ships a model for (en-AU serves Australia and New Zealand).
    assert publishing["distributionCountries"] == ["US", "GB", "IE", "CA", "AU", "NZ", "IN"]


def said_by_a_sample(phrase: str) -> bool:
    """True when some sample, its slots filled with known words, is exactly the phrase."""
    heard = normalise(phrase)
    for intent in intents().values():
        for sample in intent.get("samples", []):
            # Only a sample whose own words all occur in the phrase can be it: expand just those.
            literal = SLOT_REF.sub(" ", sample).split()
            if all(word in heard.split() for word in normalise(" ".join(literal)).split()) and \
                    heard in expand(sample, declared_slots(intent)):
                return True
    return False


def test_example_phrases_are_things_the_model_understands() -> None:
    # Certification tries each example phrase; each must reach an intent, not the fallback.
    for phrase in manifest()["publishingInformation"]["locales"]["en-US"]["examplePhrases"]:
        rest = phrase.removeprefix("Alexa, ask bedtime magnesium ").removeprefix("Alexa, open bedtime magnesium")
        assert rest == "" or said_by_a_sample(rest), phrase


def test_manifest_asks_for_reminders_and_declares_privacy() -> None:
    assert manifest()["manifestVersion"] == "1.0"
    assert {"name": "alexa::alerts:reminders:skill:readwrite"} in manifest()["permissions"]
    assert manifest()["apis"]["custom"]["interfaces"] == [{"type": "CAN_FULFILL_INTENT_REQUEST"}]
    privacy = dict(manifest()["privacyAndCompliance"])
    assert privacy.pop("locales")["en-US"]["privacyPolicyUrl"].startswith("https://")
    assert privacy == {
        "usesPersonalInfo": True,  # bedtime, form and amount are personal (PRIVACY.md)
        "isChildDirected": False,
        "containsAds": False,
        "allowsPurchases": False,
        "isExportCompliant": True,
        "usesHealthInfo": False,  # health is heard within a session only, never stored
    }


def test_ask_resources_deploys_the_package_and_the_lambda() -> None:
    config = json.loads(ASK_RESOURCES.read_text(encoding="utf-8"))
    assert config["askcliResourcesVersion"] == "2020-03-31"
    profile = config["profiles"]["default"]
    assert profile["skillMetadata"]["src"] == "./interaction_model"
    assert profile["code"]["default"]["src"] == "./lambda"
    infrastructure = profile["skillInfrastructure"]
    assert infrastructure["type"] == "@ask-cli/cfn-deployer"  # tests/test_deploy_stack.py checks the stack
    assert {k: infrastructure["userConfig"][k] for k in ("runtime", "handler")} == {
        "runtime": "python3.13", "handler": "lambda_function.lambda_handler"}
    assert (ROOT / profile["skillMetadata"]["src"] / "skill.json").is_file()


# --- request fixtures --------------------------------------------------------------------


def deserialise(text: str) -> RequestEnvelope:
    return DefaultSerializer().deserialize(text, "ask_sdk_model.RequestEnvelope")


def test_every_fixture_is_a_request_envelope_the_sdk_reads() -> None:
    fixtures = load_fixtures()
    assert fixtures, "no fixtures: run python -m skill_tools.fixtures"
    for name, text in fixtures.items():
        envelope = deserialise(text)
        assert isinstance(envelope, RequestEnvelope), name
        assert envelope.version == "1.0"
        # A market's fixtures are named for it; every other fixture is en-US.
        market = re.match(r"en-([a-z]{2})_", name)
        assert envelope.request.locale == (f"en-{market.group(1).upper()}" if market else "en-US"), name
        assert envelope.session.application.application_id == envelope.context.system.application.application_id
        assert envelope.request.request_id.startswith("amzn1.echo-api.request.")
        assert envelope.session.session_id.startswith("amzn1.echo-api.session.")


def test_every_intent_in_the_model_has_a_fixture() -> None:
    covered = {
        json.loads(text)["request"]["intent"]["name"]
        for text in load_fixtures().values()
        if json.loads(text)["request"]["type"] == "IntentRequest"
    }
    assert set(intents()) - covered == set()
    assert covered - set(intents()) == set(), "a fixture names an intent the model does not have"
    assert {"launch.json", "session_ended.json"} <= set(load_fixtures())


def test_every_fixture_carries_every_slot_its_intent_declares() -> None:
    for name, text in load_fixtures().items():
        request = json.loads(text)["request"]
        if request["type"] != "IntentRequest":
            continue
        slots = request["intent"]["slots"]
        assert set(slots) == set(declared_slots(intents()[request["intent"]["name"]])), name
        for slot_name, slot in slots.items():
            assert slot["name"] == slot_name and slot["confirmationStatus"] == "NONE"
            if "value" not in slot:
                assert set(slot) == {"name", "confirmationStatus"}, f"{name}: empty {slot_name} has extras"


def test_fixture_resolutions_point_at_real_ids_and_authorities() -> None:
    skill_id = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000"
    for name, text in load_fixtures().items():
        request = json.loads(text)["request"]
        if request["type"] != "IntentRequest":
            continue
        declared = declared_slots(intents()[request["intent"]["name"]])
        for slot_name, slot in request["intent"]["slots"].items():
            slot_type = declared[slot_name]
            if "value" not in slot or slot_type.startswith("AMAZON."):
                assert "resolutions" not in slot, f"{name}: {slot_name}"
                continue
            (authority,) = slot["resolutions"]["resolutionsPerAuthority"]
            assert authority["authority"] == f"amzn1.er-authority.echo-sdk.{skill_id}.{slot_type}"
            if authority["status"]["code"] == "ER_SUCCESS_MATCH":
                (match,) = authority["values"]
                assert match["value"]["id"] in SLOT_TYPE_IDS[slot_type], f"{name}: {slot_name}"
                assert slot["value"] in spoken_forms(slot_type)
            else:
                assert authority["status"]["code"] == "ER_SUCCESS_NO_MATCH"
                assert slot["value"] not in spoken_forms(slot_type)


def heard(fixture: str) -> dict[str, tuple[str | None, str | None]]:
    """What a fixture's person said: slot -> (spoken value, resolved id or the ER status)."""
    request = deserialise((FIXTURES / fixture).read_text(encoding="utf-8")).request
    assert isinstance(request, IntentRequest)
    result = {}
    for name, slot in request.intent.slots.items():
        resolved = None
        if slot.resolutions:
            per_authority = slot.resolutions.resolutions_per_authority[0]
            if per_authority.status.code == StatusCode.ER_SUCCESS_MATCH:
                resolved = per_authority.values[0].value.id
            else:
                resolved = per_authority.status.code.value
        result[name] = (slot.value, resolved)
    return result


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("dose_intent_amount.json", {"amount": ("500", None), "unit": ("milligrams", "mg")}),
        (
            "dose_intent_glycinate_1000.json",
            {"amount": ("1000", None), "unit": ("milligrams", "mg"), "form": ("magnesium glycinate", "glycinate")},
        ),
        ("dose_intent_kidney.json", {"condition": ("kidney disease", "kidney")}),
        ("dose_intent_over_800.json", {"amount": ("1200", None), "unit": ("milligrams", "mg")}),
        ("dose_intent_nonsense.json", {"amount": ("50000", None)}),
        ("dose_intent_unknown_unit.json", {"unit": ("ounces", "ER_SUCCESS_NO_MATCH")}),
        ("safety_intent_pregnancy.json", {"condition": ("pregnant", "pregnancy")}),
        ("mechanism_intent_melatonin.json", {"mechanism": ("sleep hormone", "melatonin")}),
        ("form_advice_intent_cramps.json", {"need": ("leg cramps", "cramps")}),
        ("form_info_intent_threonate.json", {"form": ("l threonate", "threonate")}),
        ("form_info_intent_unknown.json", {"form": ("chloride", "ER_SUCCESS_NO_MATCH")}),
        ("elemental_intent_citrate.json", {"form": ("magnesium citrate", "citrate")}),
        ("set_bedtime_intent.json", {"time": ("22:30", None)}),
        # Alexa fills AMAZON.TIME with "EV" when a person says only "in the evening".
        ("set_bedtime_intent_evening.json", {"time": ("EV", None)}),
        ("set_bedtime_intent_no_time.json", {"time": (None, None)}),
        (
            "set_preference_intent.json",
            {"amount": ("300", None), "unit": ("milligrams", "mg"), "form": ("glycinate", "glycinate")},
        ),
        (
            "set_preference_intent_form_only.json",
            {"amount": (None, None), "unit": (None, None), "form": ("magnesium glycinate", "glycinate")},
        ),
    ],
)
def test_named_fixture_says_what_its_name_promises(
    fixture: str, expected: dict[str, tuple[str, str | None]]
) -> None:
    slots = heard(fixture)
    for slot, value in expected.items():
        assert slots[slot] == value, f"{fixture}: {slot}"


def test_launch_and_session_end_fixtures() -> None:
    launch = deserialise((FIXTURES / "launch.json").read_text(encoding="utf-8"))
    assert launch.request.object_type == "LaunchRequest" and launch.session.new is True
    ended = deserialise((FIXTURES / "session_ended.json").read_text(encoding="utf-8"))
    assert ended.request.object_type == "SessionEndedRequest"
    assert ended.request.reason.value == "USER_INITIATED"


@pytest.mark.parametrize(
    "fixture",
    ["dose_taken_intent.json", "cancel_reminder_intent.json", "forget_me_intent.json"],
)
def test_slotless_fixtures_carry_no_slots(fixture: str) -> None:
    assert heard(fixture) == {}


@pytest.mark.parametrize(
    ("fixture", "intent"),
    [("amazon_next.json", "AMAZON.NextIntent"), ("amazon_resume.json", "AMAZON.ResumeIntent"),
     ("amazon_pause.json", "AMAZON.PauseIntent")],
)
def test_routine_built_ins_arrive_mid_session(fixture: str, intent: str) -> None:
    envelope = deserialise((FIXTURES / fixture).read_text(encoding="utf-8"))
    assert isinstance(envelope.request, IntentRequest)
    assert envelope.request.intent.name == intent and envelope.session.new is False


@pytest.mark.parametrize(
    ("fixture", "answer", "granted"),
    [
        ("connections_response_accepted.json", "ACCEPTED", True),
        ("connections_response_denied.json", "DENIED", False),
        ("connections_response_not_answered.json", "NOT_ANSWERED", False),
    ],
)
def test_permission_answers_come_back_as_connections_responses(fixture: str, answer: str, granted: bool) -> None:
    # A: Shall I remind you every night?  U: yes  (Alexa asks for the permission itself, then:)
    envelope = deserialise((FIXTURES / fixture).read_text(encoding="utf-8"))
    request = envelope.request
    assert isinstance(request, ConnectionsResponse)
    assert request.object_type == "Connections.Response" and request.name == "AskFor"
    assert (request.status.code, request.status.message) == ("200", "OK")
    assert request.payload == {"permissionScope": "alexa::alerts:reminders:skill:readwrite", "status": answer}
    assert request.token == "nightly-reminder"
    assert envelope.session.new is False
    # Only a granted permission brings a consent token, in the context and the session alike.
    for user in (envelope.context.system.user, envelope.session.user):
        if granted:
            assert user.permissions is not None and user.permissions.consent_token
        else:
            assert user.permissions is None
    # The manifest asks for exactly the scope the answer is about.
    assert {"name": request.payload["permissionScope"]} in manifest()["permissions"]


def test_only_the_permission_answers_are_not_intent_or_session_requests() -> None:
    kinds = {name: json.loads(text)["request"]["type"] for name, text in load_fixtures().items()}
    others = {name for name, kind in kinds.items() if kind not in {"IntentRequest", "LaunchRequest", "SessionEndedRequest"}}
    assert others == {
        "connections_response_accepted.json",
        "connections_response_denied.json",
        "connections_response_not_answered.json",
    }


def test_regenerated_fixtures_are_byte_identical(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(MAKE_FIXTURES), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    regenerated = {p.name: p.read_bytes() for p in sorted(tmp_path.glob("*.json"))}
    committed = {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))}
    assert sorted(regenerated) == sorted(committed), "fixture files differ: run python -m skill_tools.fixtures"
    drifted = [name for name in committed if committed[name] != regenerated[name]]
    assert not drifted, f"stale fixtures, run python -m skill_tools.fixtures: {drifted}"


def test_fixture_script_reports_a_missing_model_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(MAKE_FIXTURES), "--out", str(tmp_path), "--model", str(tmp_path / "nope.json")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"make_fixtures: interaction model not found: {tmp_path / 'nope.json'}"
    assert list(tmp_path.glob("*.json")) == []


# Samples may say a health word as their own words only where it is not a mention of the person's
# health: capsules counted ("how many pills"), a child whose age is the slot ("my son is {age}"),
# "a ... condition" around the slot, and questions about sleep in general.
_LITERAL_HEALTH_ALLOWED = {
    ("DoseIntent", "pills"), ("SafetyIntent", "my son"), ("SafetyIntent", "my daughter"),
    ("DoseIntent", "my son"), ("DoseIntent", "my daughter"), ("SafetyIntent", "a condition"),
    ("DoseIntent", "lots of tablets"),  # "my {condition} is on lots of tablets": the slot is the person; it gates
    ("SleepFactsIntent", "high blood pressure"), ("SleepFactsIntent", "diabetes"),
    ("SleepFactsIntent", "health problems"),
    ("SideEffectsIntent", "my heart"),
    # "how much magnesium is in my pills": the pills are the supplement on the label, not a medicine
    ("ElementalIntent", "my pills"), ("ElementalIntent", "pills"),  # "my heart is {symptom}": the symptom beside it is the mention (T5, never a dose)
    # en-IN: "sugar" is diabetes there, but "does sugar lower magnesium" asks about food; "carrying" is a
    # pregnancy there, but "is it worth carrying on with it" asks whether to keep taking magnesium.
    ("DietIntent", "sugar"), ("TimeToWorkIntent", "carrying"),
}


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "en-CA", "en-AU", "en-IN"])
def test_no_sample_hears_a_health_mention_as_its_own_words(locale: str) -> None:
    """A sample like "what if i'm on medication" teaches Alexa to drop the mention: nothing would gate.
    Each market's model is checked with its own words: a market adds medicine names and ways of saying a person."""
    from skill_tools.simulator.nlu import normalise

    language = json.loads(MODEL_PATH.with_name(f"{locale}.json").read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
    condition = next(t for t in language["types"] if t["name"] == "ConditionType")
    phrases = {normalise(p) for v in condition["values"] for p in [v["name"]["value"], *v["name"].get("synonyms", [])]}
    found = set()
    for intent in language["intents"]:
        for sample in intent.get("samples", []):
            words = " " + normalise(re.sub(r"\{\w+\}", " | ", sample)) + " "
            found |= {(intent["name"], p) for p in phrases if f" {p} " in words}
    assert found - _LITERAL_HEALTH_ALLOWED == set()
