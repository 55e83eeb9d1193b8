"""Write the sample Alexa request envelopes in tests/fixtures/requests/.

Each fixture is one request exactly as Alexa would send it: a LaunchRequest, a
SessionEndedRequest, one IntentRequest per built-in intent and at least one per
custom intent, with slot values resolved against the interaction model the way
Alexa's entity resolution does (ER_SUCCESS_MATCH with the value's id, or
ER_SUCCESS_NO_MATCH for a word the model does not know), and the
Connections.Response Alexa sends back after asking the person for reminder
permission by voice (accepted, denied, not answered).

Ids are uuid5 of the file name, so running the script again gives byte-identical
files; a test regenerates them into a temporary directory and compares.

    python -m skill_tools.fixtures [--out DIR] [--model PATH]

Standard library only, so it runs before the project is installed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skill.handlers.base import BUILT_IN_INTENTS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "interaction_model" / "interactionModels" / "custom" / "en-US.json"
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "requests"

SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000"
USER_ID = "amzn1.ask.account.TESTUSER"
DEVICE_ID = "amzn1.ask.device.TESTDEVICE"
TIMESTAMP = "2026-11-26T21:30:00Z"
LOCALE = "en-US"
# A fixed namespace keeps every generated id stable across runs and machines.
NAMESPACE = uuid.UUID("6f0d9a52-3c1e-5b7a-9e21-b3d5a0c4e7f1")

Json = dict[str, Any]


class FixtureError(Exception):
    """A fixture spec that does not fit the interaction model."""


@dataclass(frozen=True)
class Spec:
    """One fixture: which intent, what the person said into each slot, whether the session is new."""

    intent: str
    variant: str = ""
    slots: dict[str, str] = field(default_factory=dict)
    new_session: bool = True

    @property
    def file_name(self) -> str:
        base = intent_file_stem(self.intent)
        return f"{base}_{self.variant}.json" if self.variant else f"{base}.json"


BUILT_INS = list(BUILT_IN_INTENTS)

# The reminders permission the skill asks for by voice, and the token it sends with the
# request; Alexa hands the token back in the Connections.Response so the skill knows why.
REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
PERMISSION_TOKEN = "nightly-reminder"
# Fixture file name -> the person's answer to "may this skill set reminders?".
PERMISSION_ANSWERS = {
    "connections_response_accepted.json": "ACCEPTED",
    "connections_response_denied.json": "DENIED",
    "connections_response_not_answered.json": "NOT_ANSWERED",
}

# Every intent in the model gets a plain fixture without being listed; these are the named variants
# worth keeping as files. Slot values are what Alexa hears (a synonym, a number as digits), not ids:
# resolution to ids happens below, against the model, as Alexa does it.
CUSTOM_SPECS: list[Spec] = [
    Spec("WhyMagnesiumIntent"),
    Spec("MechanismIntent"),
    Spec("MechanismIntent", "gaba", {"mechanism": "gaba"}),
    Spec("MechanismIntent", "melatonin", {"mechanism": "sleep hormone"}),
    Spec("MechanismIntent", "cortisol", {"mechanism": "stress hormone"}),
    Spec("MechanismIntent", "cramps", {"mechanism": "leg cramps"}),
    Spec("MechanismIntent", "unknown", {"mechanism": "dopamine"}),
    Spec("DoseIntent"),
    Spec("DoseIntent", "amount", {"amount": "500", "unit": "milligrams"}),
    Spec("DoseIntent", "300", {"amount": "300", "unit": "milligrams"}),
    Spec("DoseIntent", "600", {"amount": "600", "unit": "milligrams"}),
    Spec("DoseIntent", "glycinate_1000", {"amount": "1000", "unit": "milligrams", "form": "magnesium glycinate"}),
    Spec("DoseIntent", "glycinate", {"form": "glycinate"}),
    Spec("DoseIntent", "over_800", {"amount": "1200", "unit": "milligrams"}),
    Spec("DoseIntent", "grams", {"amount": "2", "unit": "grams"}),
    Spec("DoseIntent", "nonsense", {"amount": "50000", "unit": "milligrams"}),
    Spec("DoseIntent", "amount_no_unit", {"amount": "400"}),
    Spec("DoseIntent", "unknown_unit", {"amount": "2", "unit": "ounces"}),
    Spec("DoseIntent", "kidney", {"condition": "kidney disease"}),
    Spec("DoseIntent", "pregnancy", {"condition": "pregnant"}),
    Spec("DoseIntent", "child", {"condition": "my son"}),
    Spec(
        "DoseIntent",
        "medicines_400",
        {"amount": "400", "unit": "milligrams", "condition": "blood pressure medicine"},
    ),
    Spec("ElementalIntent"),
    Spec("ElementalIntent", "citrate", {"amount": "500", "unit": "milligrams", "form": "magnesium citrate"}),
    Spec("ElementalIntent", "glycinate_1000", {"amount": "1000", "unit": "mg", "form": "bisglycinate"}),
    Spec("ElementalIntent", "threonate", {"form": "l threonate"}),
    Spec("ElementalIntent", "amount_only", {"amount": "400", "unit": "milligrams"}),
    Spec("ElementalIntent", "unknown_form", {"amount": "500", "unit": "milligrams", "form": "chloride"}),
    Spec("FormAdviceIntent"),
    Spec("FormAdviceIntent", "falling_asleep", {"need": "racing mind"}),
    Spec("FormAdviceIntent", "stress", {"need": "stress"}),
    Spec("FormAdviceIntent", "memory", {"need": "brain fog"}),
    Spec("FormAdviceIntent", "cramps", {"need": "leg cramps"}),
    Spec("FormAdviceIntent", "sensitive_stomach", {"need": "upset stomach"}),
    Spec("FormAdviceIntent", "unknown", {"need": "hair loss"}),
    Spec("FormInfoIntent"),
    Spec("FormInfoIntent", "glycinate", {"form": "glycinate"}),
    Spec("FormInfoIntent", "threonate", {"form": "l threonate"}),
    Spec("FormInfoIntent", "taurate", {"form": "taurine"}),
    Spec("FormInfoIntent", "citrate", {"form": "citrate"}),
    Spec("FormInfoIntent", "oxide", {"form": "magnesium oxide"}),
    Spec("FormInfoIntent", "unknown", {"form": "chloride"}),
    Spec("InsomniaSignsIntent"),
    Spec("DietIntent"),
    Spec("TimeToWorkIntent"),
    Spec("WhoItHelpsIntent"),
    Spec("VitaminDIntent"),
    Spec("SafetyIntent"),
    Spec("SafetyIntent", "kidney", {"condition": "dialysis"}),
    Spec("SafetyIntent", "pregnancy", {"condition": "pregnant"}),
    Spec("SafetyIntent", "breastfeeding", {"condition": "breastfeeding"}),
    Spec("SafetyIntent", "child", {"condition": "my daughter"}),
    Spec("SafetyIntent", "medicines", {"condition": "medication"}),
    Spec("SafetyIntent", "antibiotics", {"condition": "doxycycline"}),
    Spec("SafetyIntent", "bisphosphonates", {"condition": "fosamax"}),
    Spec("SafetyIntent", "diuretics", {"condition": "water pills"}),
    Spec("SafetyIntent", "ppi", {"condition": "omeprazole"}),
    Spec("SafetyIntent", "unknown", {"condition": "asthma"}),
    Spec("SleepFactsIntent"),
    Spec("WindDownIntent"),
    # AMAZON.TIME arrives as Alexa normalises it: "ten thirty pm" -> "22:30", "in the evening" -> "EV".
    Spec("SetBedtimeIntent", slots={"time": "22:30"}),
    Spec("SetBedtimeIntent", "no_time"),
    Spec("SetBedtimeIntent", "evening", {"time": "EV"}),
    Spec("DoseTakenIntent"),
    Spec("ReminderIntent"),
    Spec("CancelReminderIntent"),
    Spec("ForgetMeIntent"),
    Spec("SetPreferenceIntent", slots={"amount": "300", "unit": "milligrams", "form": "glycinate"}),
    Spec("SetPreferenceIntent", "form_only", {"form": "magnesium glycinate"}),
]


def intent_file_stem(intent: str) -> str:
    """Name a fixture after its intent: DoseIntent -> dose_intent, AMAZON.HelpIntent -> amazon_help."""
    if intent.startswith("AMAZON."):
        name = "amazon_" + intent.removeprefix("AMAZON.").removesuffix("Intent")
    else:
        name = intent
    # Split before a capital that starts a word, so VitaminDIntent becomes vitamin_d_intent.
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def stable_uuid(kind: str, file_name: str) -> str:
    """Give each fixture its own id that never changes between runs."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{file_name}"))


def load_model(path: Path) -> Json:
    """Read the language model, or fail with one clear line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["interactionModel"]["languageModel"]
    except FileNotFoundError:
        raise FixtureError(f"interaction model not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"interaction model is not valid JSON: {path}: {exc}") from None
    except (KeyError, TypeError):
        raise FixtureError(f"{path} has no interactionModel.languageModel") from None


def resolve(model: Json, slot_type: str, spoken: str) -> Json | None:
    """Resolve a heard value like Alexa: a value's name or synonym matches, case-insensitively.

    Built-in types (AMAZON.NUMBER) get no resolutions block, as on a real device.
    """
    if slot_type.startswith("AMAZON."):
        return None
    types = {t["name"]: t for t in model.get("types", [])}
    if slot_type not in types:
        raise FixtureError(f"slot type {slot_type} is not defined in the model")
    authority = f"amzn1.er-authority.echo-sdk.{SKILL_ID}.{slot_type}"
    heard = spoken.strip().lower()
    for value in types[slot_type]["values"]:
        name = value["name"]["value"]
        words = [name, *value["name"].get("synonyms", [])]
        if heard in (w.lower() for w in words):
            return {
                "resolutionsPerAuthority": [
                    {
                        "authority": authority,
                        "status": {"code": "ER_SUCCESS_MATCH"},
                        "values": [{"value": {"name": name, "id": value["id"]}}],
                    }
                ]
            }
    return {
        "resolutionsPerAuthority": [
            {"authority": authority, "status": {"code": "ER_SUCCESS_NO_MATCH"}}
        ]
    }


def build_slots(model: Json, spec: Spec) -> Json:
    """Every declared slot appears; filled ones carry value, resolutions and slotValue as Alexa sends them."""
    intents = {i["name"]: i for i in model["intents"]}
    if spec.intent not in intents:
        raise FixtureError(f"{spec.file_name}: intent {spec.intent} is not in the model")
    declared = {s["name"]: s["type"] for s in intents[spec.intent].get("slots", [])}
    unknown = sorted(set(spec.slots) - set(declared))
    if unknown:
        raise FixtureError(f"{spec.file_name}: {spec.intent} has no slot(s) {', '.join(unknown)}")
    slots: Json = {}
    for name, slot_type in declared.items():
        if name not in spec.slots:
            slots[name] = {"name": name, "confirmationStatus": "NONE"}
            continue
        spoken = spec.slots[name]
        resolutions = resolve(model, slot_type, spoken)
        # Key order follows what Alexa sends, so a fixture reads like a captured request.
        slot: Json = {"name": name, "value": spoken}
        slot_value: Json = {"type": "Simple", "value": spoken}
        if resolutions is not None:
            slot["resolutions"] = resolutions
            slot_value["resolutions"] = resolutions
        slot.update({"confirmationStatus": "NONE", "source": "USER", "slotValue": slot_value})
        slots[name] = slot
    return slots


def envelope(file_name: str, request: Json, *, new_session: bool, consent_token: str | None = None,
             locale: str = LOCALE) -> Json:
    """Wrap a request in the session and context Alexa sends with every request.

    A consent token appears only once the person has granted a permission; Alexa then
    sends it in the user's permissions block, in the session and in the context alike.
    """
    application = {"applicationId": SKILL_ID}
    user: Json = {"userId": USER_ID}
    if consent_token is not None:
        user["permissions"] = {"consentToken": consent_token}
    return {
        "version": "1.0",
        "session": {
            "new": new_session,
            "sessionId": f"amzn1.echo-api.session.{stable_uuid('session', file_name)}",
            "application": application,
            "attributes": {},
            "user": user,
        },
        "context": {
            "System": {
                "application": application,
                "user": user,
                "device": {"deviceId": DEVICE_ID, "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "test-token",
            }
        },
        "request": {
            "type": request.pop("type"),
            "requestId": f"amzn1.echo-api.request.{stable_uuid('request', file_name)}",
            "timestamp": TIMESTAMP,
            "locale": locale,
            **request,
        },
    }


def intent_request(model: Json, spec: Spec) -> Json:
    """Build one IntentRequest envelope from a spec."""
    request = {
        "type": "IntentRequest",
        "intent": {
            "name": spec.intent,
            "confirmationStatus": "NONE",
            "slots": build_slots(model, spec),
        },
    }
    return envelope(spec.file_name, request, new_session=spec.new_session)


def connections_response(file_name: str, answer: str) -> Json:
    """The Connections.Response that ends the voice permission dialogue with the person's answer."""
    request = {
        "type": "Connections.Response",
        "name": "AskFor",
        "status": {"code": "200", "message": "OK"},
        "payload": {"permissionScope": REMINDERS_SCOPE, "status": answer},
        "token": PERMISSION_TOKEN,
    }
    # Only a granted permission comes with a token the reminders API will accept.
    consent_token = f"Atza|consent.{stable_uuid('consent', file_name)}" if answer == "ACCEPTED" else None
    return envelope(file_name, request, new_session=False, consent_token=consent_token)


def build_fixtures(model: Json) -> dict[str, Json]:
    """Every fixture by file name, in a stable order."""
    fixtures: dict[str, Json] = {
        "launch.json": envelope("launch.json", {"type": "LaunchRequest"}, new_session=True),
        "session_ended.json": envelope(
            "session_ended.json",
            {"type": "SessionEndedRequest", "reason": "USER_INITIATED"},
            new_session=False,
        ),
    }
    # Built-ins arrive mid-conversation ("yes", "stop"), so their sessions are not new.
    specs = [Spec(name, new_session=False) for name in BUILT_INS] + CUSTOM_SPECS
    listed = {spec.intent for spec in specs}
    declared = [i["name"] for i in model["intents"]]
    specs += [Spec(name) for name in declared if name not in listed]
    for spec in specs:
        if spec.file_name in fixtures:
            raise FixtureError(f"two fixtures are named {spec.file_name}")
        fixtures[spec.file_name] = intent_request(model, spec)
    for file_name, answer in PERMISSION_ANSWERS.items():
        fixtures[file_name] = connections_response(file_name, answer)
    return fixtures


# Each other market gets the turns that show its own words: a launch, a plain dose question and help.
MARKET_FIXTURES = ("launch", "DoseIntent", "AMAZON.HelpIntent")


def market_fixtures(model: Json, locale: str) -> dict[str, Json]:
    """A market's fixtures, named `<locale>_<turn>.json`, in its locale, slots as its own model declares them."""
    fixtures: dict[str, Json] = {}
    for turn in MARKET_FIXTURES:
        if turn == "launch":
            name = f"{locale.lower()}_launch.json"
            fixtures[name] = envelope(name, {"type": "LaunchRequest"}, new_session=True, locale=locale)
            continue
        spec = Spec(turn)
        name = f"{locale.lower()}_{spec.file_name}"
        request = {"type": "IntentRequest",
                   "intent": {"name": turn, "confirmationStatus": "NONE", "slots": build_slots(model, spec)}}
        fixtures[name] = envelope(name, request, new_session=True, locale=locale)
    return fixtures


def render(fixture: Json) -> str:
    """Serialise one fixture the same way every time."""
    return json.dumps(fixture, indent=2, ensure_ascii=False) + "\n"


def write_fixtures(out_dir: Path, model_path: Path = DEFAULT_MODEL) -> list[Path]:
    """Write every fixture into out_dir and return the paths written."""
    fixtures = build_fixtures(load_model(model_path))
    for other in sorted(model_path.parent.glob("*.json")):
        if other != model_path:
            fixtures.update(market_fixtures(load_model(other), other.stem))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, fixture in fixtures.items():
        path = out_dir / file_name
        path.write_text(render(fixture), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the fixtures, or say in one line why not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory to write into")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="interaction model JSON")
    args = parser.parse_args(argv)
    try:
        written = write_fixtures(args.out, args.model)
    except (FixtureError, OSError) as exc:
        print(f"make_fixtures: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} fixtures to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
