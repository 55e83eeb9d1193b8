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


def test_remind_me_at_a_time_creates_one_daily_reminder_then_a_new_time_moves_it(
    allowed: Conversation, alexa_api: AlexaApiStub
) -> None:
    allowed.launch()  # U: open bedtime magnesium
    # U: remind me at nine thirty   (Alexa hears "09:30": a clock time without pm is the evening)
    a = allowed.ask("ReminderIntent", time="09:30")
    # A: Done. I'll remind you every night at 9:30 PM.
    assert a.said("reminder.created") and "9:30 PM" in a.speech
    (create,) = alexa_api.calls("POST", REMINDERS)
    body = create.body
    assert create.headers["authorization"] == "Bearer token"
    assert body["trigger"]["type"] == "SCHEDULED_ABSOLUTE"
    assert body["trigger"]["scheduledTime"].endswith("T21:30:00.000")
    assert body["trigger"]["timeZoneId"] == "America/New_York"
    assert body["trigger"]["recurrence"]["recurrenceRules"][0].startswith("FREQ=DAILY;BYHOUR=21;BYMINUTE=30")
    spoken = body["alertInfo"]["spokenInfo"]["content"][0]
    assert spoken["locale"] == "en-US" and "magnesium" in spoken["text"]
    # U: actually make it ten   -> the reminder moves: still one, now at 10 PM
    a = allowed.ask("ReminderIntent", time="22:00")
    assert a.said("reminder.moved") and "10 PM" in a.speech
    assert len(alexa_api.reminders) == 1 and len(alexa_api.calls("DELETE", REMINDERS)) == 1
    assert alexa_api.calls("POST", REMINDERS)[-1].body["trigger"]["scheduledTime"].endswith("T22:00:00.000")
    # U: remind me at ten   (again)  -> kept as it is: no duplicate, nothing deleted
    assert allowed.ask("ReminderIntent", time="22:00").said("reminder.exists")
    assert len(alexa_api.calls("POST", REMINDERS)) == 2 and len(alexa_api.reminders) == 1


def test_with_no_time_said_it_asks_and_offers_the_wind_down_start_as_a_suggestion(
    allowed: Conversation, alexa_api: AlexaApiStub
) -> None:
    # U: remind me to take my magnesium   A: What time...? 9:45 PM would start a wind-down before your
    #                                        10:30 PM bedtime, if that suits you. That's only a habit I suggest.
    a = allowed.ask("ReminderIntent")
    assert a.said("reminder.ask_time_suggest") and not a.ended and not alexa_api.calls("POST", REMINDERS)
    assert "9:45 PM" in a.speech and "suggest" in a.speech and "minutes" not in a.speech  # T1: no finding
    assert a.body["directives"][0]["type"] == "Dialog.ElicitSlot"
    # U: yes   -> the time suggested
    a = allowed.ask("AMAZON.YesIntent")
    assert a.said("reminder.created") and "9:45 PM" in a.speech


def test_the_answer_to_what_time_may_be_heard_as_a_bedtime(allowed: Conversation) -> None:
    allowed.ask("ReminderIntent")  # A: What time should I remind you?
    a = allowed.ask("SetBedtimeIntent", time="21:15")  # U: quarter past nine
    assert a.said("reminder.created") and "9:15 PM" in a.speech and not a.said("routine.bedtime_saved")


def test_half_nine_is_half_past_nine_in_the_evening(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    allowed.locale = "en-GB"
    # U: remind me to take it at half nine   (AMAZON.NUMBER hears "9" after "half")
    a = allowed.ask("ReminderIntent", half_past="9")
    # A: Done. I'll remind you every night at 9:30 pm.
    assert a.said("reminder.created") and "9:30 pm" in a.speech
    assert alexa_api.calls("POST", REMINDERS)[-1].body["trigger"]["scheduledTime"].endswith("T21:30:00.000")
    # U: what time?  ... "half ten", heard as a bedtime, still answers the reminder's question
    allowed.ask("ReminderIntent")
    a = allowed.ask("SetBedtimeIntent", half_past="10")
    assert a.said("reminder.moved") and "10:30 pm" in a.speech and not a.said("routine.bedtime_saved")


@pytest.mark.parametrize("heard", ["?", "0", "13", "2.5", "ten"])
def test_half_of_no_hour_on_a_clock_asks_for_the_time(allowed: Conversation, alexa_api: AlexaApiStub, heard: str) -> None:
    a = allowed.ask("ReminderIntent", half_past=heard)
    assert a.said("reminder.ask_time_suggest") and not alexa_api.calls("POST", REMINDERS)


def test_without_a_bedtime_it_asks_for_a_time_with_no_suggestion(night: Conversation) -> None:
    night.consent = True
    a = night.ask("ReminderIntent")
    assert a.said("reminder.ask_time") and not a.said("reminder.ask_time_suggest")
    a = night.ask("ReminderIntent", time="22:15")
    assert a.said("reminder.created") and "10:15 PM" in a.speech


def test_cancel_my_reminder_deletes_it(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    allowed.launch()  # U: open bedtime magnesium
    allowed.ask("ReminderIntent", time="21:30")
    a = allowed.ask("CancelReminderIntent")
    assert a.said("reminder.cancelled") and alexa_api.calls("DELETE", REMINDERS) and not alexa_api.reminders
    assert allowed.ask("CancelReminderIntent").said("reminder.none")


def test_without_permission_it_asks_by_voice_then_handles_each_answer(
    night: Conversation, alexa_api: AlexaApiStub
) -> None:
    a = night.ask("ReminderIntent", time="21:30")
    (directive,) = a.body["directives"]
    assert directive["type"] == "Connections.SendRequest" and directive["name"] == "AskFor"
    assert directive["payload"]["permissionScope"] == "alexa::alerts:reminders:skill:readwrite"
    assert not alexa_api.calls("POST", REMINDERS)
    # Alexa asked; the person said yes, and the next request carries the consent token and the time asked for
    night.consent = True
    a = night.permission("ACCEPTED", token=directive["token"])
    assert a.said("reminder.created") and "9:30 PM" in a.speech
    night.consent = False
    assert night.permission("DENIED", token=directive["token"]).said("reminder.denied")
    a = night.permission("NOT_ANSWERED", token=directive["token"])
    assert a.said("reminder.permission_card") and a.body["card"]["type"] == "AskForPermissionsConsent"


def test_a_permission_answer_without_a_time_asks_for_one(night: Conversation) -> None:
    # A prompt an older release sent carried no time.
    night.consent = True
    assert night.permission("ACCEPTED").said("reminder.ask_time")


@pytest.mark.parametrize(
    ("status", "key"),
    [(401, "reminder.permission_card"), (403, "reminder.permission_card"), (429, "reminder.unavailable"),
     (500, "reminder.unavailable"), (503, "reminder.unavailable"), (400, "reminder.failed")],
)
def test_api_errors_get_a_calm_answer(allowed: Conversation, alexa_api: AlexaApiStub, status: int, key: str) -> None:
    allowed.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    alexa_api.fail_next(status)
    a = allowed.ask("ReminderIntent", time="21:30")
    assert a.said(key) and not a.ended and not alexa_api.reminders


def test_a_stalled_api_times_out_calmly(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()
    assert allowed.ask("ReminderIntent", time="21:30").said("reminder.unavailable")


def test_forget_me_also_deletes_the_reminder(allowed: Conversation, alexa_api: AlexaApiStub) -> None:
    allowed.ask("ReminderIntent", time="21:30")
    allowed.ask("ForgetMeIntent")
    assert allowed.ask("AMAZON.YesIntent").said("forget.done")
    assert not alexa_api.reminders
