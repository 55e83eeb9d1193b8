"""No request shape makes a 500 (or, on Lambda, an exception from inside ask-sdk).

    U: (an envelope from before `context`, with the skill id set)   A: answered, as the session names the skill
    U: (the same, for another skill, or naming no skill at all)     A: 400 {"error": ...}; on Lambda, BadEnvelope
    U: (session attributes nested 850 deep)                         A: 400 "nested too deeply", not a RecursionError
    U: (1e400 in session attributes)                                A: 400, never "Infinity" echoed back
    U: (an event with a value newer than the SDK's enums)           A: 200, the empty answer
"""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.runtime import BadEnvelope, parse_json
from skill.settings import Settings
from skill.web import create_app
from tests.conversation import envelope, intent_request
from tests.test_events import EVENTS, SKILL_ID, lambda_entry, load

OTHER_SKILL = "amzn1.ask.skill.11111111-1111-4111-8111-111111111111"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app(Settings(_env_file=None, verify_signature=False, skill_id=SKILL_ID, persistence="sqlite",
                               data_dir=tmp_path_factory.mktemp("data"), alexa_api=False, seed=7))


@pytest.fixture(scope="module")
def entry() -> Iterator[ModuleType]:
    with lambda_entry(BEDTIME_SKILL_ID=SKILL_ID) as module:
        yield module


def post(app: Flask, body: bytes | str) -> tuple[int, Any]:
    response = app.test_client().post("/alexa", data=body, content_type="application/json")
    return response.status_code, json.loads(response.get_data(), parse_constant=_no_constants)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"the response carries {name}, which is not JSON")


def without_context(payload: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    del payload["context"]
    return payload


# --- envelopes without context ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["LaunchRequest--no-context", "IntentRequest--no-context"])
def test_an_envelope_without_context_is_answered_from_its_session(app: Flask, entry: ModuleType, name: str) -> None:
    payload = load(EVENTS / f"{name}.json")
    status, answer = post(app, json.dumps(payload))
    assert status == 200 and "<speak>" in answer["response"]["outputSpeech"]["ssml"]
    assert "<speak>" in entry.lambda_handler(payload, None)["response"]["outputSpeech"]["ssml"]


def test_an_envelope_without_context_is_not_changed_by_answering_it(entry: ModuleType) -> None:
    payload = load(EVENTS / "LaunchRequest--no-context.json")
    before = copy.deepcopy(payload)
    entry.lambda_handler(payload, None)
    assert payload == before  # Lambda's event is the caller's; the filled-in context is our own copy


# The web app checks the application id before the runner sees the body, so an envelope naming
# no skill may be "wrong application id" there; the Lambda entry says what is missing.
@pytest.mark.parametrize(
    ("change", "lambda_reason"),
    [
        (lambda p: p["session"].update(application={"applicationId": OTHER_SKILL}), "wrong application id"),
        (lambda p: p["session"].pop("application"), "wrong application id"),
        (lambda p: p.pop("session"), "missing context.System"),
        (lambda p: p.update(context={"System": "not an object"}), "context.System must be an object"),
        (lambda p: p.update(context={"System": {"user": {"userId": "u"}}}, session={"new": True}),
         "wrong application id"),
    ],
    ids=["another skill", "no application id", "no session either", "System not an object", "System without app"],
)
def test_an_envelope_naming_no_skill_or_another_is_refused(
    app: Flask, entry: ModuleType, change: Any, lambda_reason: str
) -> None:
    payload = load(EVENTS / "LaunchRequest--no-context.json")
    change(payload)
    status, answer = post(app, json.dumps(payload))
    assert status == 400 and answer["error"] in ("wrong application id", lambda_reason)
    with pytest.raises(BadEnvelope) as refused:
        entry.lambda_handler(payload, None)
    assert refused.value.reason == lambda_reason


def test_context_without_an_application_takes_the_sessions(app: Flask) -> None:
    payload = envelope(intent_request("TimeToWorkIntent"))
    del payload["context"]["System"]["application"]
    status, answer = post(app, json.dumps(payload))
    assert status == 200 and "weeks" in answer["response"]["outputSpeech"]["ssml"]


# Any shape of context and session, with the skill id set: a 200 Alexa accepts or a JSON 400.
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                      st.just({"applicationId": SKILL_ID}), st.just({"userId": "amzn1.ask.account.X"}))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=12), inner, max_size=3)),
                          max_leaves=8)
part = st.one_of(st.just("absent"), json_value,
                 st.fixed_dictionaries({}, optional={"application": json_value, "user": json_value,
                                                     "device": json_value, "apiEndpoint": json_value,
                                                     "apiAccessToken": json_value, "attributes": json_value,
                                                     "new": json_value, "sessionId": json_value}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["LaunchRequest", "IntentRequest", "SessionEndedRequest", "CanFulfillIntentRequest",
                             "AudioPlayer.PlaybackStarted", "AlexaSkillEvent.SkillDisabled", "Foo.BarEvent"]),
       system=part, session=part, context_extra=st.dictionaries(st.text(max_size=8), json_value, max_size=2))
def test_any_context_and_session_shape_is_answered_or_refused(
    app: Flask, entry: ModuleType, kind: str, system: Any, session: Any, context_extra: dict[str, Any]
) -> None:
    payload = load(EVENTS / "IntentRequest.json")
    payload["request"]["type"] = kind
    payload["context"] = {**context_extra}
    if system != "absent":
        payload["context"]["System"] = system
    if session == "absent":
        payload.pop("session")
    else:
        payload["session"] = session
    status, answer = post(app, json.dumps(payload))
    assert status in (200, 400), answer
    if status == 400:
        assert set(answer) == {"error"}
        with pytest.raises(BadEnvelope):
            entry.lambda_handler(payload, None)
    else:
        assert answer["version"] == "1.0"
        json.dumps(entry.lambda_handler(payload, None), allow_nan=False)


# --- nesting and numbers JSON cannot carry ----------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth):
        node = {"a": node}
    return node


def nested_text(depth: int) -> str:
    return '{"a": ' * depth + "{}" + "}" * depth


# Near 1000 levels the JSON parser itself may run out of stack first, depending on how deep the
# caller already is: then the body is "malformed JSON". Either way a 400, never a RecursionError.
@pytest.mark.parametrize(("depth", "reasons"), [(65, {"nested too deeply"}), (850, {"nested too deeply"}),
                                                (990, {"nested too deeply", "malformed JSON"})])
def test_deeply_nested_session_attributes_are_refused(app: Flask, entry: ModuleType, depth: int,
                                                       reasons: set[str]) -> None:
    text = json.dumps(envelope(intent_request("AMAZON.RepeatIntent"), attributes={"x": 1}, new=False))
    text = text.replace('{"x": 1}', nested_text(depth))
    status, answer = post(app, text)
    assert status == 400 and answer["error"] in reasons
    # On Lambda the event arrives parsed; json.dumps of 990 levels overflows before any walk could.
    payload = envelope(intent_request("AMAZON.RepeatIntent"), attributes=nested(depth), new=False)
    with pytest.raises(BadEnvelope, match="nested too deeply"):
        entry.lambda_handler(payload, None)


def test_nesting_too_deep_for_the_json_parser_is_refused(app: Flask, entry: ModuleType) -> None:
    payload = envelope(intent_request("AMAZON.RepeatIntent"), new=False)
    text = json.dumps(payload).replace('"attributes": {}', '"attributes": ' + nested_text(5000))
    assert post(app, text) == (400, {"error": "malformed JSON"})


def test_ordinary_nesting_is_answered(app: Flask) -> None:
    payload = envelope(intent_request("AMAZON.RepeatIntent"), attributes={"kept": nested(40)}, new=False)
    status, answer = post(app, json.dumps(payload))
    # Answered (the skill keeps only its own attributes, so the nesting is not echoed back).
    assert status == 200 and answer["response"]["outputSpeech"] and "kept" not in answer.get("sessionAttributes", {})


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.5e309"])
def test_a_number_too_large_for_a_float_is_refused_not_echoed_as_infinity(app: Flask, number: str) -> None:
    text = json.dumps(envelope(intent_request("AMAZON.RepeatIntent"), attributes={"x": 1}, new=False))
    text = text.replace('"x": 1', f'"x": {number}')
    status, answer = post(app, text)  # post() fails the test if Infinity comes back
    assert (status, answer) == (400, {"error": "malformed JSON"})
    with pytest.raises(ValueError, match="out of range"):
        parse_json(text)


def test_a_tiny_number_is_fine(app: Flask) -> None:
    text = json.dumps(envelope(intent_request("AMAZON.RepeatIntent"), attributes={"x": 1}, new=False))
    status, answer = post(app, text.replace('"x": 1', '"x": 1e-400'))
    # Parsed and answered; the skill keeps only its own session attributes, so "x" is not echoed.
    assert status == 200 and "x" not in answer.get("sessionAttributes", {})


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_number_in_a_lambda_event_is_refused(entry: ModuleType, value: float) -> None:
    # Lambda parses the event itself (Python's json turns 1e400 into inf): the runner must refuse it.
    payload = envelope(intent_request("AMAZON.RepeatIntent"), attributes={"x": value}, new=False)
    with pytest.raises(BadEnvelope, match="numbers must be finite"):
        entry.lambda_handler(payload, None)


# --- values newer than the SDK ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("SessionEndedRequest", lambda r: r.update(reason="SOME_NEW_REASON")),
        ("Alexa.DataStore.PackageManager.InstallationError", lambda r: r["error"].update(type="A_NEW_ERROR")),
        ("AudioPlayer.PlaybackFailed", lambda r: r["error"].update(type="MEDIA_ERROR_FROM_THE_FUTURE")),
    ],
)
def test_an_event_with_a_value_newer_than_the_sdk_gets_the_empty_answer(
    app: Flask, entry: ModuleType, name: str, change: Any, caplog: pytest.LogCaptureFixture
) -> None:
    payload = load(EVENTS / f"{name}.json")
    change(payload["request"])
    caplog.set_level(logging.INFO)
    status, answer = post(app, json.dumps(payload))
    assert status == 200 and answer == {"version": "1.0", "response": {}}
    assert entry.lambda_handler(payload, None) == {"version": "1.0", "response": {}}
    assert [r.levelno for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_an_intent_the_sdk_cannot_read_is_still_a_400(app: Flask) -> None:
    payload = envelope(intent_request("TimeToWorkIntent"))
    payload["request"]["dialogState"] = "SOMETHING_NEW"
    assert post(app, json.dumps(payload)) == (400, {"error": "not an Alexa request envelope"})


def test_the_runtime_keeps_the_web_stack_out_of_lambda() -> None:
    """runtime.py imports the handlers' request-type list; that must not pull in Flask."""
    import subprocess
    import sys

    code = "import skill.runtime, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"
