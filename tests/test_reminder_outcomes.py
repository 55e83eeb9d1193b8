"""One nightly reminder, whatever the Reminders API leaves unsaid: a list that lags behind a create.

Every conversation runs on the real skill over a real SQLite file, against the local stand-in of
the Alexa API, whose clock is the skill's: "a minute later" is a minute for both.
"""
from __future__ import annotations

import random

import pytest
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.builder import build_skill
from skill.profile.models import UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.runtime import SkillRunner
from skill.services import Services
from skill.settings import Settings
from tests.alexa_api_stub import REMINDERS, AlexaApiStub
from tests.conftest import Clock
from tests.conversation import Conversation

LAG_S = 5.0  # how long the stand-in's list goes without a reminder just made


@pytest.fixture
def person(settings: Settings, store: SqlitePersistenceAdapter, clock: Clock, alexa_api: AlexaApiStub) -> Conversation:
    """Someone with a bedtime who has allowed reminders; an Alexa API call gives up after 0.3 s."""
    alexa_api.default_time_zone = "America/New_York"
    alexa_api.now = lambda: clock().timestamp()
    said: list[str] = []
    services = Services(clock=clock, alexa_api=True, api_allow_loopback=True, api_call_timeout_s=0.3)
    runner = SkillRunner(build_skill(settings, persistence=store, rng=random.Random(3), on_say=said.append,
                                     services=services))
    talk = Conversation(runner, said, api_endpoint=alexa_api.endpoint, consent=True)
    talk.ask("SetBedtimeIntent", time="22:30")
    return talk


def stored(store: SqlitePersistenceAdapter, talk: Conversation) -> UserProfile:
    """This person's profile, as the SQLite file holds it."""
    who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=talk.user_id))))
    return UserProfile.from_attributes(store.get_attributes(who))


def made(alexa_api: AlexaApiStub) -> int:
    """How many reminders the skill asked the API to create."""
    return len(alexa_api.calls("POST", REMINDERS))


# -- a list that lags ----------------------------------------------------------------------------------


def test_remind_me_again_while_the_list_lags_keeps_the_one_reminder(
    person: Conversation, alexa_api: AlexaApiStub, store: SqlitePersistenceAdapter
) -> None:
    alexa_api.lag_list(LAG_S)
    # U: remind me at nine thirty   A: Done. I'll remind you every night at 9:30 PM.
    assert person.ask("ReminderIntent", time="21:30").said("reminder.created")
    # U (a moment later, the list not showing it yet): remind me at nine thirty
    a = person.ask("ReminderIntent", time="21:30")
    # A: You already have a nightly reminder at 9:30 PM.   (its stored id was asked after)
    assert a.said("reminder.exists") and "9:30 PM" in a.speech
    assert made(alexa_api) == 1 and len(alexa_api.reminders) == 1
    assert stored(store, person).reminder_ids == list(alexa_api.reminders)


def test_a_new_time_while_the_list_lags_moves_the_reminder_rather_than_adding_one(
    person: Conversation, alexa_api: AlexaApiStub, store: SqlitePersistenceAdapter
) -> None:
    alexa_api.lag_list(LAG_S)
    person.ask("ReminderIntent", time="21:30")
    # U (a moment later): actually make it ten   A: Done. Your nightly reminder is now at 10 PM.
    a = person.ask("ReminderIntent", time="22:00")
    assert a.said("reminder.moved") and "10 PM" in a.speech
    (left,) = alexa_api.reminders.values()
    assert left["trigger"]["scheduledTime"].endswith("T22:00:00.000")
    assert stored(store, person).reminder_ids == list(alexa_api.reminders)
