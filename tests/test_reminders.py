"""The nightly reminder and the device time zone, against a real local stand-in of the Alexa API.

Each test plays one turn of the routine: "remind me every night at half past ten" becomes a
Reminders API call, and every way that call can fail becomes one ReminderError kind the voice layer
can answer kindly.
"""
from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from skill.alexa_api import NightlyReminders, ReminderError, TimeoutApiClient
from skill.outbound import Breakers, Budget
from tests.alexa_api_stub import REMINDERS, AlexaApiStub, alexa_api  # noqa: F401 - alexa_api is a fixture

TOKEN = "in-session-access-token"
# 03:00 UTC on 4 November is still the evening of 3 November in Los Angeles.
LATE_EVENING = datetime(2026, 11, 4, 3, 0, tzinfo=timezone.utc)


def reminders_for(stub: AlexaApiStub, token: str | None = TOKEN, timeout: float = 2.0) -> NightlyReminders:
    """The client as one turn uses it, pointed at the loopback stand-in (allowed for tests only)."""
    return NightlyReminders(stub.endpoint, token, TimeoutApiClient(timeout=timeout), clock=lambda: LATE_EVENING,
                            breakers=Breakers(), allow_loopback=True)


def create(client: NightlyReminders, at: str = "22:30", zone: str = "America/Los_Angeles") -> str:
    return client.create_daily(at=at, time_zone=zone, text="Time to wind down for sleep.")


# -- U: "remind me every night at half past ten" --------------------------------------------------


def test_a_nightly_reminder_is_sent_as_a_daily_absolute_reminder(alexa_api: AlexaApiStub) -> None:
    token = create(reminders_for(alexa_api))

    (sent,) = alexa_api.calls("POST", REMINDERS)
    assert sent.path == REMINDERS
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    trigger = sent.body["trigger"]
    assert trigger["type"] == "SCHEDULED_ABSOLUTE"
    # Today in the person's zone, at their time, with no offset: Alexa reads it as local time.
    assert trigger["scheduledTime"] == "2026-11-03T22:30:00.000"
    assert trigger["timeZoneId"] == "America/Los_Angeles"
    assert trigger["recurrence"] == {
        "recurrenceRules": ["FREQ=DAILY;BYHOUR=22;BYMINUTE=30;BYSECOND=0;INTERVAL=1;"]
    }
    assert sent.body["alertInfo"] == {
        "spokenInfo": {"content": [{"locale": "en-US", "text": "Time to wind down for sleep."}]}
    }
    assert sent.body["pushNotification"] == {"status": "ENABLED"}
    assert token in alexa_api.reminders


def test_an_early_hour_and_another_locale_are_sent_as_they_are(alexa_api: AlexaApiStub) -> None:
    client = reminders_for(alexa_api)
    client.create_daily(at="9:05", time_zone="Europe/London", text="Magnesium time.", locale="en-GB")

    (sent,) = alexa_api.calls("POST", REMINDERS)
    assert sent.body["trigger"]["scheduledTime"] == "2026-11-04T09:05:00.000"
    assert sent.body["trigger"]["recurrence"]["recurrenceRules"] == [
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=5;BYSECOND=0;INTERVAL=1;"
    ]
    assert sent.body["alertInfo"]["spokenInfo"]["content"][0]["locale"] == "en-GB"


def test_a_reminder_exists_until_it_is_deleted_and_deleting_twice_is_fine(alexa_api: AlexaApiStub) -> None:
    client = reminders_for(alexa_api)
    token = create(client)

    assert client.exists(token) is True
    client.delete(token)
    assert client.exists(token) is False
    client.delete(token)  # already gone: the person may have deleted it in the Alexa app

    methods = [(r.method, r.path) for r in alexa_api.calls()]
    assert methods[1:] == [
        ("GET", f"{REMINDERS}/{token}"),
        ("DELETE", f"{REMINDERS}/{token}"),
        ("GET", f"{REMINDERS}/{token}"),
        ("DELETE", f"{REMINDERS}/{token}"),
    ]


def test_every_call_goes_to_the_endpoint_from_the_request(alexa_api: AlexaApiStub) -> None:
    client = NightlyReminders(alexa_api.endpoint + "/", TOKEN, TimeoutApiClient(timeout=2.0), allow_loopback=True)
    token = create(client)
    client.exists(token)
    client.time_zone("device-1")

    assert len(alexa_api.calls()) == 3
    assert all(r.headers["host"] == alexa_api.endpoint.removeprefix("http://") for r in alexa_api.calls())


# -- when the Reminders API says no -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, "no_permission"),
        (403, "no_permission"),
        (429, "rate_limited"),
        (500, "unavailable"),
        (503, "unavailable"),
        (400, "bad_request"),
        (409, "bad_request"),
    ],
)
def test_an_api_error_becomes_one_kind_of_reminder_error(alexa_api: AlexaApiStub, status: int, kind: str) -> None:
    alexa_api.fail_next(status)

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api))

    assert caught.value.kind == kind
    assert caught.value.status == status
    assert alexa_api.reminders == {}


@pytest.mark.parametrize(("status", "kind"), [(403, "no_permission"), (502, "unavailable")])
def test_an_error_body_that_is_not_json_still_gives_the_right_kind(
    alexa_api: AlexaApiStub, status: int, kind: str
) -> None:
    alexa_api.fail_next(status, body="<html>Bad Gateway</html>")

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api))

    assert caught.value.kind == kind


def test_checking_or_deleting_a_reminder_reports_errors_other_than_not_found(alexa_api: AlexaApiStub) -> None:
    client = reminders_for(alexa_api)
    token = create(client)

    alexa_api.fail_next(429)
    with pytest.raises(ReminderError) as on_get:
        client.exists(token)
    alexa_api.fail_next(500)
    with pytest.raises(ReminderError) as on_delete:
        client.delete(token)

    assert (on_get.value.kind, on_delete.value.kind) == ("rate_limited", "unavailable")
    assert token in alexa_api.reminders


def test_a_stalled_api_becomes_a_timeout(alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api, timeout=0.2))

    assert caught.value.kind == "timeout"
    assert len(alexa_api.calls("POST")) == 1


def test_an_api_nobody_listens_on_becomes_a_timeout() -> None:
    with socket.socket() as sock:  # a loopback port that was free a moment ago and now is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = NightlyReminders(f"http://127.0.0.1:{port}", TOKEN, TimeoutApiClient(timeout=1.0), allow_loopback=True)

    with pytest.raises(ReminderError) as caught:
        create(client)

    assert caught.value.kind == "timeout"


# -- which failures leave the outcome unknown (the reminder may have been made) --------------------------


def test_a_create_whose_answer_is_lost_may_have_made_the_reminder(alexa_api: AlexaApiStub) -> None:
    alexa_api.lose_answer_next()

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api, timeout=0.2))

    assert (caught.value.kind, caught.value.maybe_done) == ("timeout", True)
    assert len(alexa_api.reminders) == 1  # it was made


@pytest.mark.parametrize(("status", "maybe_done"), [(500, True), (502, True), (504, True), (503, False),
                                                    (429, False), (400, False), (401, False)])
def test_an_error_status_says_whether_the_work_may_be_done(alexa_api: AlexaApiStub, status: int,
                                                           maybe_done: bool) -> None:
    alexa_api.fail_next(status)

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api))

    assert caught.value.maybe_done is maybe_done


def test_a_success_without_an_alert_token_may_have_made_the_reminder(alexa_api: AlexaApiStub) -> None:
    alexa_api.fail_next(201, body="{}")

    with pytest.raises(ReminderError) as caught:
        create(reminders_for(alexa_api))

    assert (caught.value.kind, caught.value.maybe_done) == ("unavailable", True)


def test_a_call_never_sent_is_a_known_failure(alexa_api: AlexaApiStub) -> None:
    with socket.socket() as sock:  # nobody listens: the connection is refused before a byte is sent
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = NightlyReminders(f"http://127.0.0.1:{port}", TOKEN, TimeoutApiClient(timeout=1.0), allow_loopback=True)
    spent = reminders_for(alexa_api)
    spent.budget = Budget(0.0)  # the turn's time for API calls is gone

    for client in (refused, spent):
        with pytest.raises(ReminderError) as caught:
            create(client)
        assert (caught.value.kind, caught.value.maybe_done) == ("timeout", False)
    assert alexa_api.calls() == []


def test_without_an_access_token_nothing_is_called(alexa_api: AlexaApiStub) -> None:
    client = reminders_for(alexa_api, token=None)

    with pytest.raises(ReminderError) as caught:
        create(client)
    with pytest.raises(ReminderError):
        client.exists("any-token")

    assert caught.value.kind == "no_permission"
    assert alexa_api.calls() == []


@pytest.mark.parametrize(
    ("at", "zone", "text"),
    [
        ("25:00", "Europe/London", "wind down"),
        ("half past ten", "Europe/London", "wind down"),
        ("22:30", "Mars/Olympus_Mons", "wind down"),
        ("22:30", "Europe/London", "   "),
    ],
)
def test_bad_input_is_a_bad_request_before_any_call(alexa_api: AlexaApiStub, at: str, zone: str, text: str) -> None:
    with pytest.raises(ReminderError) as caught:
        reminders_for(alexa_api).create_daily(at=at, time_zone=zone, text=text)

    assert caught.value.kind == "bad_request"
    assert alexa_api.calls() == []


def test_the_token_is_never_sent_over_plain_http_to_a_remote_host() -> None:
    client = NightlyReminders("http://api.amazonalexa.invalid", TOKEN, TimeoutApiClient(timeout=1.0))

    with pytest.raises(ReminderError) as caught:
        create(client)

    assert caught.value.kind == "unavailable"


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TimeoutApiClient(timeout=0)


# -- the device's time zone ---------------------------------------------------------------------


def test_the_time_zone_comes_from_the_device_settings(alexa_api: AlexaApiStub) -> None:
    zone = reminders_for(alexa_api).time_zone("amzn1.ask.device.ABC/1")

    assert zone == "Europe/London"
    (asked,) = alexa_api.calls("GET")
    assert asked.path == "/v2/devices/amzn1.ask.device.ABC%2F1/settings/System.timeZone"
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [401, 403, 429, 500])
def test_the_time_zone_falls_back_when_the_settings_api_fails(alexa_api: AlexaApiStub, status: int) -> None:
    alexa_api.fail_next(status)

    assert reminders_for(alexa_api).time_zone("device-1", fallback="America/Chicago") == "America/Chicago"


def test_the_time_zone_falls_back_on_a_timeout(alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()

    assert reminders_for(alexa_api, timeout=0.2).time_zone("device-1") == "America/New_York"


def test_the_time_zone_falls_back_without_a_token_or_on_a_name_that_is_not_a_zone(alexa_api: AlexaApiStub) -> None:
    assert reminders_for(alexa_api, token=None).time_zone("device-1") == "America/New_York"
    assert alexa_api.calls() == []

    alexa_api.time_zones["device-2"] = "Not/AZone"
    assert reminders_for(alexa_api).time_zone("device-2") == "America/New_York"
