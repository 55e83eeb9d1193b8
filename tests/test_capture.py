"""Capture mode writes a request's known-safe fields only (issue #23 item 7).

A developer turns on BEDTIME_CAPTURE_REQUESTS to replay a bug. Alexa's envelope carries tokens, a grant
code, a person's id and what they said about their health; the log must get none of it, and the
capture must still read as the request it was. Only BEDTIME_CAPTURE_PERSONAL lets slot values and
session attributes through, warned at start, and even then no id and no token.
"""
from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from skill.builder import build_skill
from skill.interceptors import pseudonym
from skill.runtime import BadEnvelope, SkillRunner, check_envelope
from skill.settings import Settings
from skill.web import create_app
from skill.web.capture import PERSONAL_WARNING, REDACTED, redact
from tests.conversation import SKILL_ID, envelope, intent_request
from tests.planted import REQUEST_TYPES, Planter, every_field

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.json"))
GRANT_CODE = "ANSecretGrantCode42"
GRANTEE_TOKEN = "AtzaSecretGranteeToken42"
PERSON_ID = "amzn1.ask.person.SECRETPERSON42"
PERSON_TOKEN = "eyJSecretPersonToken42"
API_TOKEN = "eyJSecretApiAccessToken42"
ID_AND_TOKEN_FIELDS = ("userId", "deviceId", "personId", "Token", "token", "code")
Logged = Callable[..., str]


@pytest.fixture
def logged(settings: Settings, json_logs: io.StringIO, capfd: pytest.CaptureFixture[str]) -> Logged:
    """Everything the process writes while the web app, capture on, answers these envelopes."""

    def answer(*envelopes: dict[str, Any], personal: bool = False) -> str:
        app = create_app(settings.model_copy(update={"capture_requests": True, "capture_personal": personal}))
        client = app.test_client()
        for body in envelopes:
            # Closed once read, as a real server closes it: that is when the access line is written.
            with client.post("/alexa", data=json.dumps(body), content_type="application/json") as response:
                assert response.status_code < 500, response.get_json()
        out, err = capfd.readouterr()
        return json_logs.getvalue() + out + err

    return answer


def captures(log: str) -> list[dict[str, Any]]:
    return [line["capture"] for line in map(json.loads, log.splitlines()) if "capture" in line]


def personal_place(path: str) -> bool:
    """Where capture_personal may write what was planted: slots, session attributes, Alexa's error messages."""
    return ".slots." in path or path.startswith("session.attributes") or path.endswith("error.message")


def with_person(body: dict[str, Any]) -> dict[str, Any]:
    body["context"]["System"]["person"] = {"personId": PERSON_ID, "accessToken": PERSON_TOKEN}
    body["context"]["System"]["apiAccessToken"] = API_TOKEN
    return body


def test_no_field_a_request_can_carry_reaches_the_log(logged: Logged) -> None:
    planter = Planter()
    envelopes = planter.every_request()
    log = logged(*envelopes)
    assert planter.covered == every_field(), "a field ask-sdk-model knows was never planted"
    assert len(captures(log)) == len(envelopes) and len(envelopes) >= len(REQUEST_TYPES)
    assert len(planter.secrets) > 10_000
    assert planter.found_in(log) == {}


def test_with_capture_personal_slot_values_reach_the_log_but_tokens_and_ids_do_not(logged: Logged) -> None:
    planter = Planter()
    log = logged(*planter.every_request(), personal=True)
    found = set(planter.found_in(log).values())
    assert any(path.endswith(".slots.condition.value") for path in found), "personal capture wrote no slot value"
    assert any(path.startswith("session.attributes") for path in found)
    assert {path for path in found if not personal_place(path)} == set()
    assert {path for path in found if any(field in path for field in ID_AND_TOKEN_FIELDS)} == set()


def test_a_grant_code_never_reaches_the_log(logged: Logged) -> None:
    # The person links their account in the Alexa app; Alexa hands the skill a code to trade for tokens.
    grant = envelope({"type": "Alexa.Authorization.Grant", "body": {
        "grant": {"type": "OAuth2.AuthorizationCode", "code": GRANT_CODE},
        "grantee": {"type": "BearerToken", "token": GRANTEE_TOKEN}}})
    for personal in (False, True):
        log = logged(grant, personal=personal)
        assert GRANT_CODE not in log and GRANTEE_TOKEN not in log
        assert captures(log)[-1]["request"]["body"]["grant"] == {"type": "OAuth2.AuthorizationCode", "code": REDACTED}


def test_a_persons_id_and_access_token_never_reach_the_log(logged: Logged) -> None:
    # A recognised voice: Alexa names the person and gives a token for their own data.
    body = with_person(envelope(intent_request("TimeToWorkIntent")))
    for personal in (False, True):
        log = logged(body, personal=personal)
        assert PERSON_TOKEN not in log and API_TOKEN not in log and "SECRETPERSON42" not in log
        person = captures(log)[-1]["context"]["System"]["person"]
        assert person == {"personId": f"amzn1.ask.person.REDACTED{pseudonym(PERSON_ID)}", "accessToken": REDACTED}


def test_a_symptom_said_aloud_never_reaches_the_log(logged: Logged) -> None:
    # U: "can I take it with my seizures"; the symptom slot resolves against ConditionType.
    request = intent_request("SafetyIntent", condition="my seizures")
    request["intent"]["slots"]["symptom"] = {
        "name": "symptom", "value": "a seizure disorder", "confirmationStatus": "NONE",
        "slotValue": {"type": "Simple", "value": "a seizure disorder"},
        "resolutions": {"resolutionsPerAuthority": [{
            "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.ConditionType",
            "status": {"code": "ER_SUCCESS_MATCH"}, "values": [{"value": {"name": "epilepsy", "id": "epilepsy"}}]}]},
    }
    log = logged(envelope(request))
    assert "seizure" not in log and "epilep" not in log
    slot = captures(log)[-1]["request"]["intent"]["slots"]["symptom"]
    # The slot's name and how it resolved stay, so the capture still says which path the skill took.
    assert slot["name"] == "symptom" and slot["value"] == REDACTED and slot["slotValue"] == {"type": "Simple", "value": REDACTED}
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["status"] == {"code": "ER_SUCCESS_MATCH"}


def test_the_gate_named_in_last_said_never_reaches_the_log(settings: Settings, logged: Logged) -> None:
    # U: "open bedtime magnesium"  U: "300 milligrams, I'm pregnant"  A: the pregnancy gate.
    # U: "say that again": the session remembers the gate it said.
    client = create_app(settings).test_client()
    remembered: dict[str, Any] = {}
    for turn in ({"type": "LaunchRequest"},
                 intent_request("DoseIntent", amount="300", unit="mg:milligrams", condition="pregnancy:I am pregnant")):
        body = envelope(turn, attributes=remembered, new=not remembered)
        remembered = client.post("/alexa", data=json.dumps(body), content_type="application/json").get_json()["sessionAttributes"]
    assert "gate.pregnancy" in json.dumps(remembered["last_said"])
    again = envelope(intent_request("AMAZON.RepeatIntent"), attributes=remembered, new=False)
    log = logged(again)
    assert "pregnan" not in log.lower()
    # Only the skill's own attribute names are left, none of what they hold.
    assert captures(log)[-1]["session"]["attributes"] == {name: REDACTED for name in remembered}
    assert "gate.pregnancy" in logged(again, personal=True), "the personal capture is the way to replay that turn"


def test_ids_keep_the_stable_pseudonyms_the_log_lines_use(logged: Logged) -> None:
    turns = [envelope(intent_request("TimeToWorkIntent"), user_id="amzn1.ask.account.SECRETUSER42") for _ in range(2)]
    users = [c["context"]["System"]["user"]["userId"] for c in captures(logged(*turns))]
    assert users == [f"amzn1.ask.account.REDACTED{pseudonym('amzn1.ask.account.SECRETUSER42')}"] * 2


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_capture_still_reads_as_the_request_it_was(path: Path, settings: Settings) -> None:
    sent = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(sent.get("request"), dict):
        pytest.skip("not a request envelope")
    runner = SkillRunner(build_skill(settings))
    try:
        original = runner.envelope(sent)
    except BadEnvelope:
        # What the skill refuses it refuses after capture too: redaction makes nothing new readable.
        for personal in (False, True):
            with pytest.raises(BadEnvelope):
                runner.envelope(redact(sent, personal=personal))
        return
    for personal in (False, True):
        captured = runner.envelope(redact(sent, personal=personal))
        assert captured.request.object_type == original.request.object_type
        assert captured.request.request_id == original.request.request_id
        intent = getattr(original.request, "intent", None)
        if intent is not None:
            assert captured.request.intent.name == intent.name
            assert set(captured.request.intent.slots or {}) == set(intent.slots or {})
        runner.invoke(redact(sent, personal=personal))  # answered, not refused


def _reads(payload: dict[str, Any]) -> bool:
    try:
        check_envelope(payload)
        DefaultSerializer().deserialize(json.dumps(payload), RequestEnvelope)
    except (BadEnvelope, SerializationException):
        return False
    return True


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_type=st.sampled_from(REQUEST_TYPES), rng=st.randoms(use_true_random=False))
def test_any_request_however_misshapen_keeps_its_secrets_and_still_reads(request_type: str, rng: random.Random) -> None:
    # Fields left out, subclasses and enum members drawn, some values in a shape the field does not take.
    planter = Planter(rng)
    sent = planter.envelope(request_type)
    assert planter.found_in(json.dumps(redact(sent))) == {}
    personal = redact(sent, personal=True)
    assert all(personal_place(path) for path in planter.found_in(json.dumps(personal)).values())
    if _reads(sent):
        assert _reads(redact(sent)) and _reads(personal)


def test_an_envelope_nested_too_deeply_is_not_walked() -> None:
    deep: Any = "s3cr3t"
    for _ in range(200):
        deep = {"a": deep}
    captured = redact({"version": "1.0", "request": {"type": "LaunchRequest"}, "session": {"attributes": deep}}, personal=True)
    assert "s3cr3t" not in json.dumps(captured)


def test_capture_personal_is_warned_at_start_up(
    monkeypatch: pytest.MonkeyPatch, json_logs: io.StringIO, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from skill.web import server
    from skill_tools.cli import main

    started: list[Settings] = []
    monkeypatch.setattr(server, "serve", lambda settings, **_: started.append(settings))
    for name, value in {"SKILL_ID": SKILL_ID, "PERSISTENCE": "none", "DATA_DIR": str(tmp_path),
                        "CAPTURE_REQUESTS": "true"}.items():
        monkeypatch.setenv(f"BEDTIME_{name}", value)
    assert main(["serve", "--port", "0"], out=io.StringIO()) == 0
    assert "health words" not in capfd.readouterr().err
    monkeypatch.setenv("BEDTIME_CAPTURE_PERSONAL", "true")
    assert main(["serve", "--port", "0"], out=io.StringIO()) == 0
    warned = [json.loads(line) for line in capfd.readouterr().err.splitlines() if "CAPTURE_PERSONAL" in line]
    assert [(w["level"], w["msg"]) for w in warned] == [("WARNING", PERSONAL_WARNING)]
    assert "a person's health words may reach the log" in PERSONAL_WARNING
    assert [s.capture_personal for s in started] == [False, True]
