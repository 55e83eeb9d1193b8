"""Nightly reminders by voice, against a local stand-in of the Alexa API that records what it receives."""
from __future__ import annotations

import pytest

from tests.alexa_api_stub import REMINDERS, AlexaApiStub
from tests.conversation import Conversation


@pytest.fixture
def allowed(night: Conversation) -> Conversation:
    """A person who has granted the reminders permission and has a bedtime."""
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")
    return night


def test_remind_me_every_night_creates_one_daily_reminder_at_the_dose_time(
    allowed: Conversation, alexa_api: AlexaApiStub
) -> None:
    # U: remind me every night
    a = allowed.ask("ReminderIntent")
    # A: Done. I'll remind you every night at 9:45 PM ...
    assert a.said("reminder.created") and "9:45 PM" in a.speech
    (create,) = alexa_api.calls("POST", REMINDERS)
    body = create.body
    assert create.headers["authorization"] == "Bearer token"
    assert body["trigger"]["type"] == "SCHEDULED_ABSOLUTE"
    assert body["trigger"]["scheduledTime"].endswith("T21:45:00.000")
    assert body["trigger"]["timeZoneId"] == "America/New_York"
    assert body["trigger"]["recurrence"]["recurrenceRules"][0].startswith("FREQ=DAILY;BYHOUR=21;BYMINUTE=45")
    spoken = body["alertInfo"]["spokenInfo"]["content"][0]
    assert spoken["locale"] == "en-US" and "magnesium" in spoken["text"]
    # U: remind me every night  (again)  -> no duplicate
    assert allowed.ask("ReminderIntent").said("reminder.exists")
    assert len(alexa_api.calls("POST", REMINDERS)) == 1


def test_cancel_my_reminder_deletes_it(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    allowed.ask("ReminderIntent")
    a = allowed.ask("CancelReminderIntent")
    assert a.said("reminder.cancelled") and alexa_api.calls("DELETE", REMINDERS) and not alexa_api.reminders
    assert allowed.ask("CancelReminderIntent").said("reminder.none")


def test_without_a_bedtime_it_asks_for_one_then_sets_the_reminder(night: Conversation) -> None:
    night.consent = True
    a = night.ask("ReminderIntent")
    assert a.said("routine.ask_bedtime")
    a = night.ask("SetBedtimeIntent", time="23:00")
    assert a.said("routine.bedtime_saved", "reminder.created") and "10:15 PM" in a.speech


def test_without_permission_it_asks_by_voice_then_handles_each_answer(
    night: Conversation, alexa_api: AlexaApiStub
) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    a = night.ask("ReminderIntent")
    (directive,) = a.body["directives"]
    assert directive["type"] == "Connections.SendRequest" and directive["name"] == "AskFor"
    assert directive["payload"]["permissionScope"] == "alexa::alerts:reminders:skill:readwrite"
    assert not alexa_api.calls("POST", REMINDERS)
    # Alexa asked; the person said yes, and the next request carries the consent token
    night.consent = True
    assert night.permission("ACCEPTED").said("reminder.created")
    night.consent = False
    assert night.permission("DENIED").said("reminder.denied")
    a = night.permission("NOT_ANSWERED")
    assert a.said("reminder.permission_card") and a.body["card"]["type"] == "AskForPermissionsConsent"


@pytest.mark.parametrize(
    ("status", "key"),
    [(401, "reminder.permission_card"), (403, "reminder.permission_card"), (429, "reminder.unavailable"),
     (500, "reminder.unavailable"), (503, "reminder.unavailable"), (400, "reminder.failed")],
)
def test_api_errors_get_a_calm_answer(allowed: Conversation, alexa_api: AlexaApiStub, status: int, key: str) -> None:
    allowed.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    alexa_api.fail_next(status)
    a = allowed.ask("ReminderIntent")
    assert a.said(key) and not a.ended and not alexa_api.reminders


def test_a_stalled_api_times_out_calmly(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()
    assert allowed.ask("ReminderIntent").said("reminder.unavailable")


def test_forget_me_also_deletes_the_reminder(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    allowed.ask("ReminderIntent")
    allowed.ask("ForgetMeIntent")
    assert allowed.ask("AMAZON.YesIntent").said("forget.done")
    assert not alexa_api.reminders
