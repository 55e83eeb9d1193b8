"""Logs name no one and no illness, at any level: DEBUG everywhere, capture mode on, a real Alexa API stand-in.

A person tells the skill about their kidneys, their pregnancy, a condition the model does not
know; the skill calls the settings and reminders APIs (whose URLs hold the raw deviceId) on a
loopback stand-in. Everything the process logs goes through the real JSON handler; none of it may
hold the device id, the user id, the access token or a word of what they said about their health.
"""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from skill.logs import scrub
from skill.settings import Settings
from skill.web import create_app
from skill_tools.loadtest import alexa_api as alexa_api_stand_in
from tests.conversation import SKILL_ID, envelope, intent_request

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "requests"
DEVICE_ID = "amzn1.ask.device.AEPRIVATEDEVICE9X"
USER_ID = "amzn1.ask.account.AFPRIVATEUSER7Q"
TOKEN = "eyJhbGciPRIVATETOKEN"
HEALTH_WORDS = ("kidney", "pregnan", "lupus", "epilep")


def personal(request: dict[str, Any], api: str, attributes: dict[str, Any] | None = None) -> bytes:
    """An envelope carrying this test's private ids and token."""
    body = envelope(request, user_id=USER_ID, api_endpoint=api, attributes=attributes, consent=True)
    body["context"]["System"]["device"]["deviceId"] = DEVICE_ID
    body["context"]["System"]["apiAccessToken"] = TOKEN
    return json.dumps(body).encode()


def test_a_night_of_requests_at_debug_with_capture_logs_no_id_and_no_illness(
    tmp_path: Path, json_logs: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="sqlite",
                        alexa_api=True, alexa_api_allow_loopback=True, capture_requests=True, skill_id=SKILL_ID,
                        seed=7)
    app: Flask = create_app(settings)
    client = app.test_client()
    with alexa_api_stand_in() as (api, calls):
        turns = [
            intent_request("SafetyIntent", condition="kidney:kidney disease"),
            intent_request("DoseIntent", amount="300", unit="mg:milligrams", condition="pregnancy:I am pregnant"),
            intent_request("SafetyIntent", condition="my lupus flares up"),  # heard, not resolved
            intent_request("SetBedtimeIntent", time="22:30"),  # learns the time zone: GET /v2/devices/<id>/...
            intent_request("ReminderIntent"),  # POST /v1/alerts/reminders with the token
            intent_request("WindDownIntent"),
        ]
        answers = [
            client.post("/alexa", data=personal(t, api, {"conditions": ["epilepsy"]}), content_type="application/json")
            for t in turns
        ]
    assert [a.status_code for a in answers] == [200] * len(turns)
    assert calls["GET"] >= 1, "the settings API (its URL holds the deviceId) was never called: the test proves nothing"
    logging.getLogger("urllib3.connectionpool").debug('"GET /v2/devices/%s/settings/System.timeZone HTTP/1.1" 200', DEVICE_ID)
    out, err = capfd.readouterr()  # anything written around the handler (print, warnings) counts too
    logged = json_logs.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert any("capture" in line for line in lines), "capture mode logged nothing"
    assert any(line.get("level") == "DEBUG" for line in lines), "nothing was logged at DEBUG"
    text = (logged + out + err).lower()
    for secret in (DEVICE_ID, USER_ID, TOKEN, *HEALTH_WORDS):
        assert secret.lower() not in text, f"{secret!r} is in the logs"


def test_a_library_warning_that_quotes_a_url_has_the_device_id_scrubbed(json_logs: io.StringIO) -> None:
    # urllib3 logs retries at WARNING, with the URL; requests errors name it too.
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying (Retry(total=0)) after connection broken by 'timeout': /v2/devices/%s/settings/System.timeZone", DEVICE_ID
    )
    try:
        raise ConnectionError(f"Max retries exceeded with url: /v2/devices/{DEVICE_ID}/settings (user {USER_ID})")
    except ConnectionError as exc:
        logging.getLogger("skill.web.app").error("unhandled error", exc_info=exc)
    err = json_logs.getvalue()
    lines = [json.loads(line) for line in err.splitlines()]
    assert len(lines) == 2 and "/v2/devices/REDACTED/settings" in lines[0]["msg"]
    assert DEVICE_ID not in err and USER_ID not in err and "amzn1.ask.account.REDACTED" in lines[1]["trace"]


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("GET /v2/devices/amzn1.ask.device.AB12/settings/System.timeZone", "GET /v2/devices/REDACTED/settings/System.timeZone"),
        ("user amzn1.ask.account.XYZ-123 asked", "user amzn1.ask.account.REDACTED asked"),
        ("Authorization: Bearer eyJ0eXAi.abc-def", "Authorization: Bearer REDACTED"),
        ("authorization: BEARER eyJ0eXAi.abc", "authorization: BEARER REDACTED"),
        ("nothing private here", "nothing private here"),
    ],
)
def test_scrub_redacts_ids_and_tokens_in_any_case_and_leaves_other_lines_alone(line: str, kept: str) -> None:
    assert scrub(line) == kept
