"""Whatever arrives at POST /alexa, the answer is a 400 with a JSON reason or a valid Alexa response.

Hypothesis plays strangers at the endpoint: real fixture envelopes with keys dropped, values
swapped for other JSON types and unknown keys added; request types and intents the skill has
never heard of; slot values that are empty, huge, non-ASCII or full of SSML; session attributes
(which Alexa hands back to us, so they are input too) carrying injected markup; and raw bytes.
For every one of them the endpoint must keep its promise:

    U: <anything>
    A: 200 with speech Alexa accepts (valid <speak>, only speak/break/prosody, a reprompt
       if the session stays open) -- or 400 {"error": "..."}. Never a 5xx.
"""
from __future__ import annotations

import atexit
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.settings import Settings
from skill.web import create_app
from tests.alexa_api_stub import AlexaApiStub
from tests.conversation import SKILL_ID, envelope, intent_request

# Some intents call the Alexa APIs at the request's apiEndpoint; every call goes to this loopback
# stand-in instead of api.amazonalexa.com (tests use no network).
ALEXA_API = AlexaApiStub().start()
atexit.register(ALEXA_API.stop)
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"
MODEL = Path(__file__).resolve().parent.parent / "interaction_model" / "interactionModels" / "custom" / "en-US.json"


def local_api(payload: Any) -> Any:
    """Point an envelope's apiEndpoint at the loopback stub if it names a host that is not loopback.

    Odd values (not a string, no host) are left as they are: they are part of the fuzzing.
    """
    system = payload.get("context") if isinstance(payload, dict) else None
    system = system.get("System") if isinstance(system, dict) else None
    endpoint = system.get("apiEndpoint") if isinstance(system, dict) else None
    if isinstance(endpoint, str):
        try:
            host = urlsplit(endpoint.strip()).hostname
        except ValueError:
            host = None
        if host and host not in ("127.0.0.1", "localhost", "::1"):
            system["apiEndpoint"] = ALEXA_API.endpoint  # type: ignore[index]
    return payload


FIXTURE_ENVELOPES: list[dict[str, Any]] = [
    local_api(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(FIXTURES.glob("*.json"))
]
# Intent name -> its slot names, read from the model so new slots are fuzzed without editing this file.
MODEL_INTENTS: dict[str, list[str]] = {
    intent["name"]: [s["name"] for s in intent.get("slots", [])]
    for intent in json.loads(MODEL.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]["intents"]
}
ALLOWED_TAGS = {"speak", "break", "prosody"}
SERIALIZER = DefaultSerializer()

# One app and one client for the module: hypothesis replays many examples per test, and
# building the skill (content validation included) once keeps the whole file fast.
_DATA_DIR = tempfile.TemporaryDirectory(prefix="bedtime-props-")
atexit.register(_DATA_DIR.cleanup)  # explicit, so even a run that deselects every test leaves nothing behind
APP = create_app(
    # With the skill id set, as in production: the application id check runs on every fuzzed envelope.
    Settings(_env_file=None, verify_signature=False, persistence="none", data_dir=Path(_DATA_DIR.name), alexa_api=False, seed=7,
             skill_id=SKILL_ID)
)




# --- what every answer must be ------------------------------------------------------------


def _strict_json(raw: bytes) -> Any:
    """Parse a response body as RFC 8259 JSON: Alexa rejects NaN and Infinity, so we do too."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"response body contains the non-JSON constant {name}")

    return json.loads(raw, parse_constant=refuse)


def _ssml_problem(ssml: str) -> str | None:
    """Why Alexa would refuse this speech, or None if it is fine."""
    if len(ssml) > 8000:
        return "longer than 8000 characters"
    try:
        root = ElementTree.fromstring(ssml)
    except ElementTree.ParseError as exc:
        return f"not XML ({exc})"
    if root.tag != "speak":
        return f"root is <{root.tag}>"
    tags = {element.tag for element in root.iter()}
    if not tags <= ALLOWED_TAGS:
        return f"unexpected elements {sorted(tags - ALLOWED_TAGS)}"
    return None


def check_answer(status: int, raw: bytes, *, sent: bytes, payload: Any = None) -> None:
    """A 400 with {"error": str}, or a 200 carrying a response Alexa would accept.

    `sent` is the request body; `payload` is it parsed (None if it is not JSON).
    """
    if status == 413:
        # The body limit is the endpoint's own rule; a 413 is right exactly when the body is over it.
        assert len(sent) > APP.config["MAX_CONTENT_LENGTH"], f"413 for a {len(sent)}-byte body"
        assert _strict_json(raw) == {"error": "request entity too large"}
        return
    assert status in (200, 400), f"status {status}: {raw[:300]!r}"
    body = _strict_json(raw)
    if status == 400:
        assert isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)
        return
    model = SERIALIZER.deserialize(json.dumps(body), "ask_sdk_model.ResponseEnvelope")
    assert model is not None and model.response is not None
    assert body["version"] == "1.0"
    response = body["response"]
    for part in (response.get("outputSpeech"), (response.get("reprompt") or {}).get("outputSpeech")):
        if not part:
            continue
        assert part["type"] == "SSML"
        problem = _ssml_problem(part["ssml"])
        assert problem is None, f"{problem}: {part['ssml'][:300]!r}"
    if response.get("shouldEndSession") is False:
        assert response.get("outputSpeech"), "an open session must say something"
        assert response.get("reprompt"), "an open session needs a reprompt"


def post(client: FlaskClient, body: bytes) -> tuple[int, bytes]:
    answer = client.post("/alexa", data=body, content_type="application/json")
    return answer.status_code, answer.get_data()


def encode(payload: Any) -> bytes:
    # allow_nan and surrogatepass: a careless client may send NaN or lone surrogates; the endpoint must cope.
    return json.dumps(local_api(payload), allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


def send(client: FlaskClient, payload: Any) -> None:
    """U: this envelope. A: must be a valid answer or a clean refusal."""
    body = encode(payload)
    check_answer(*post(client, body), sent=body, payload=payload)


def send_bytes(client: FlaskClient, body: bytes) -> None:
    """U: these bytes. A: the same promise as for an envelope."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    check_answer(*post(client, body), sent=body, payload=payload)


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return APP.test_client()


# --- strategies ----------------------------------------------------------------------------

INJECTIONS = [
    "<speak>",
    "</speak>",
    '<break time="100s"/>',
    "& < > \" '",
    '</speak><audio src="https://example.invalid/x.mp3"/><speak>',
    "<![CDATA[x]]>",
    "<!-- c -->",
    "&amp;lt;",
    "&#60;speak&#62;",
    "{amount}",
    "{0}",
    "[pause 99s]",
]
ODD_VALUES = [
    "",
    " ",
    "?",
    "1e308",
    "-1e308",
    "-0",
    "0",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999999999999999999999",
    "400.5",
    "four hundred",
    "x" * 10_000,
    "Magnesium ☾ 🌙😴💤",
    "מגנזיום",  # Hebrew, right to left
    "\u202eevil\u202c",  # right-to-left override
    "\u0000",
    "\ud7ff\ue000",
    "glycinate\n\t",
]
odd_text = st.one_of(
    st.sampled_from(ODD_VALUES + INJECTIONS),
    st.text(max_size=50),
    st.builds(lambda a, b: a + b, st.sampled_from(INJECTIONS), st.text(max_size=20)),
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
slot_value = st.one_of(st.none(), odd_text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document, the root excluded."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutated_fixture(draw: st.DrawFn) -> Any:
    """A real fixture envelope with one to four random edits: drop, retype, add an unknown key."""
    doc = json.loads(json.dumps(draw(st.sampled_from(FIXTURE_ENVELOPES))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        op = draw(st.sampled_from(["drop", "replace", "add"]))
        if op == "drop":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(json_value)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_value)
        else:
            parent.append(draw(json_value))
    return doc


request_types = st.one_of(
    st.sampled_from(
        [
            "Foo.Bar",
            "AudioPlayer.PlaybackStarted",
            "AudioPlayer.PlaybackFailed",
            "CanFulfillIntentRequest",
            "Connections.Response",
            "Display.ElementSelected",
            "Alexa.Presentation.APL.UserEvent",
            "System.ExceptionEncountered",
            "Messaging.MessageReceived",
            "Reminders.ReminderCreated",
            "LaunchRequest",
            "SessionEndedRequest",
            "IntentRequest",
        ]
    ),
    st.text(max_size=40),
)
intent_names = st.one_of(st.sampled_from(sorted(MODEL_INTENTS)), st.sampled_from(["AMAZON.PauseIntent", "Nope"]), st.text(max_size=40))


# --- properties ----------------------------------------------------------------------------

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(payload=mutated_fixture())
def test_a_mutated_fixture_gets_a_valid_answer_or_a_400(client: FlaskClient, payload: Any) -> None:
    send(client, payload)


@st.composite
def odd_application(draw: st.DrawFn) -> Any:
    """A real fixture whose application id, in context.System and in the session, is missing or odd."""
    doc = json.loads(json.dumps(draw(st.sampled_from(FIXTURE_ENVELOPES))))
    for holder in (doc.get("context", {}).get("System", {}), doc.get("session") or {}):
        choice = draw(st.sampled_from(["drop", "odd", "keep"]))
        if choice == "drop":
            holder.pop("application", None)
        elif choice == "odd":
            holder["application"] = draw(st.one_of(json_value, st.fixed_dictionaries({"applicationId": json_value})))
    return doc


@FAST
@given(payload=odd_application())
def test_a_missing_or_odd_application_id_gets_a_400_never_a_500(client: FlaskClient, payload: Any) -> None:
    send(client, payload)


def _lambda_entry() -> Any:
    """The Lambda entry module, imported as the runtime imports it (settings from the environment)."""
    import importlib.util
    import os

    names = {"BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false", "BEDTIME_SKILL_ID": SKILL_ID,
             "BEDTIME_DATA_DIR": _DATA_DIR.name}
    before = {k: os.environ.get(k) for k in names}
    os.environ.update(names)
    try:
        spec = importlib.util.spec_from_file_location("lambda_function_fuzzed", ROOT / "lambda" / "lambda_function.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def lambda_entry() -> Any:
    return _lambda_entry()


@FAST
@given(payload=st.one_of(mutated_fixture(), odd_application()))
def test_the_lambda_entry_answers_or_refuses_every_mutated_envelope(lambda_entry: Any, payload: Any) -> None:
    # Lambda has no status code: a refused envelope is a BadEnvelope (the invocation fails with its reason,
    # as a 400 does over HTTP); anything else must be a response Alexa would accept. Never another error.
    from skill.runtime import BadEnvelope

    try:
        answer = lambda_entry.lambda_handler(payload, None)
    except BadEnvelope:
        return
    raw = json.dumps(answer).encode()
    check_answer(200, raw, sent=json.dumps(payload, default=str).encode(), payload=payload)


@settings(max_examples=150, deadline=None)
@given(kind=request_types, extra=st.dictionaries(st.text(max_size=10), json_value, max_size=3))
def test_an_unknown_request_type_is_answered_or_refused(client: FlaskClient, kind: str, extra: dict[str, Any]) -> None:
    send(client, envelope({**extra, "type": kind}))


SLOTTED_INTENTS = sorted(name for name, slots in MODEL_INTENTS.items() if slots)


@st.composite
def odd_slots(draw: st.DrawFn) -> tuple[str, dict[str, str | None]]:
    """An intent with the model's own slot names (mostly) filled with odd values, or any intent with any slots."""
    if draw(st.integers(min_value=0, max_value=3)):
        name = draw(st.sampled_from(SLOTTED_INTENTS))
        names = st.sampled_from(MODEL_INTENTS[name])
    else:
        name = draw(intent_names)
        names = st.sampled_from(["amount", "unit", "form", "condition", "need", "mechanism", "zzz"])
    return name, draw(st.dictionaries(names, slot_value, max_size=4))


@FAST
@given(intent=odd_slots(), resolved=st.booleans())
def test_any_intent_with_odd_slot_values_gets_a_valid_answer(
    client: FlaskClient, intent: tuple[str, dict[str, str | None]], resolved: bool
) -> None:
    name, slots = intent
    # "id:heard" asks intent_request for an entity-resolution match, as Alexa sends for a known value.
    filled = {k: (f"{v}:{v}" if resolved and v else v) for k, v in slots.items()}
    send(client, envelope(intent_request(name, **filled)))


FOREIGN_MARKUP = [
    '<audio src="https://example.invalid/a.mp3"/>',
    "<p>x</p>",
    '<say-as interpret-as="expletive">x</say-as>',
    '<amazon:effect name="whispered">x</amazon:effect>',
    '<voice name="Kendra">x</voice>',
    '<break time="100s"/>',
    "</speak><speak>",
]


@FAST
@given(
    # The intents that read session attributes, asked often; any intent now and then.
    name=st.one_of(
        st.sampled_from(["AMAZON.RepeatIntent", "AMAZON.YesIntent", "DoseIntent", "WindDownIntent", "AMAZON.HelpIntent"]),
        intent_names,
    ),
    last_said=st.one_of(
        st.builds(
            lambda inject, where: {"ssml": f"<speak>Hello {inject}</speak>", "reprompt": "<speak>More?</speak>"}
            if where
            else {"ssml": "<speak>Hello</speak>", "reprompt": f"<speak>{inject}</speak>"},
            st.one_of(st.sampled_from(FOREIGN_MARKUP), odd_text),
            st.booleans(),
        ),
        st.fixed_dictionaries({"ssml": odd_text, "reprompt": odd_text}),
        json_value,
    ),
    offered_more=st.one_of(st.sampled_from(["why.more", "dose.more", "__class__", "{x}", "<speak>"]), json_value),
    conditions=st.one_of(st.lists(st.one_of(st.sampled_from(["kidney", "pregnancy", "medicines", "child"]), odd_text), max_size=5), json_value),
    extra=st.dictionaries(st.text(max_size=10), json_value, max_size=2),
)
def test_injected_session_attributes_never_leak_into_speech(
    client: FlaskClient,
    name: str,
    last_said: Any,
    offered_more: Any,
    conditions: Any,
    extra: dict[str, Any],
) -> None:
    attributes = {**extra, "last_said": last_said, "offered_more": offered_more, "conditions": conditions}
    send(client, envelope(intent_request(name), attributes=attributes, new=False))


@st.composite
def damaged_fixture_bytes(draw: st.DrawFn) -> bytes:
    """A real fixture's bytes, cut short or with a few bytes overwritten: almost JSON, almost an envelope."""
    raw = bytearray(encode(draw(st.sampled_from(FIXTURE_ENVELOPES))))
    if draw(st.booleans()):
        del raw[draw(st.integers(min_value=1, max_value=len(raw) - 1)) :]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        raw[draw(st.integers(min_value=0, max_value=len(raw) - 1))] = draw(st.integers(min_value=0, max_value=255))
    return bytes(raw)


@settings(max_examples=250, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        damaged_fixture_bytes(),
    )
)
def test_raw_bytes_never_cause_a_server_error(client: FlaskClient, raw: bytes) -> None:
    send_bytes(client, raw)



def test_every_fixture_as_it_is_gets_a_valid_200(client: FlaskClient) -> None:
    """The baseline the mutations start from: each real fixture is answered, and answered well."""
    for payload in FIXTURE_ENVELOPES:
        body = encode(payload)
        status, raw = post(client, body)
        assert status == 200, payload["request"]
        check_answer(status, raw, sent=body, payload=payload)


# --- what fuzzing once found, one minimal example each ------------------------------------


def _speech(raw: bytes) -> str:
    return str(json.loads(raw)["response"]["outputSpeech"]["ssml"])


@pytest.mark.parametrize("kind", ["LaunchRequest", "AudioPlayer.PlaybackStarted"])
def test_a_request_without_a_session_gets_an_answer_not_a_500(client: FlaskClient, kind: str) -> None:
    # Alexa sends AudioPlayer and other device events with no session object at all.
    payload = envelope({"type": kind})
    del payload["session"]
    status, raw = post(client, encode(payload))
    assert status in (200, 400), raw


@pytest.mark.parametrize("heard", ["x\x0by", "nul\x00", "\ufffe"])
def test_a_control_character_in_a_slot_still_gives_valid_ssml(client: FlaskClient, heard: str) -> None:
    status, raw = post(client, encode(envelope(intent_request("FormInfoIntent", form=heard))))
    assert status == 400 or _ssml_problem(_speech(raw)) is None


def test_repeat_does_not_replay_foreign_markup(client: FlaskClient) -> None:
    smuggled = {"ssml": '<speak><audio src="https://example.invalid/a.mp3"/></speak>', "reprompt": "<speak>x</speak>"}
    payload = envelope(intent_request("AMAZON.RepeatIntent"), attributes={"last_said": smuggled}, new=False)
    status, raw = post(client, encode(payload))
    assert status == 400 or _ssml_problem(_speech(raw)) is None


def test_infinity_in_a_request_is_not_echoed_as_invalid_json(client: FlaskClient) -> None:
    body = encode(envelope(intent_request("AMAZON.HelpIntent"), attributes={"x": math.inf}, new=False))
    status, raw = post(client, body)
    assert status == 400 or _strict_json(raw)


@pytest.mark.parametrize("where", ["envelope", "request"])
def test_a_dunder_key_in_the_envelope_is_refused_not_a_500(client: FlaskClient, where: str) -> None:
    payload = envelope({"type": "LaunchRequest"})
    (payload if where == "envelope" else payload["request"])["__dict__"] = {}
    status, raw = post(client, encode(payload))
    assert status in (200, 400), raw
