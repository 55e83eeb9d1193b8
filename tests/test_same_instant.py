"""One person, several requests at the same instant: nothing any of them saved is lost.

Each test drives the real skill with real request envelopes from several threads at once, on a
real SQLite file or on DynamoDB (moto's server on loopback), with the Alexa API stand-in on
loopback where reminders are involved.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.builder import build_skill
from skill.profile.factory import make_persistence_adapter
from skill.profile.models import UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.profile.versions import VersionedStore
from skill.runtime import SkillRunner
from skill.services import Services
from skill.settings import Settings
from tests.alexa_api_stub import REMINDERS, AlexaApiStub
from tests.conftest import Clock
from tests.conversation import Conversation, envelope, intent_request
from tests.moto_dynamodb import dynamodb_endpoint, dynamodb_settings, fake_aws  # noqa: F401 - fixtures

TRIALS = 200


def skill_on(store: AbstractPersistenceAdapter, clock: Clock, *, alexa_api: bool = False) -> SkillRunner:
    settings = Settings(_env_file=None, verify_signature=False, persistence="none", seed=7, alexa_api=alexa_api)
    services = Services(clock=clock, alexa_api=alexa_api, api_allow_loopback=True)
    return SkillRunner(build_skill(settings, persistence=store, rng=random.Random(7), services=services))


def stored(store: AbstractPersistenceAdapter, user_id: str) -> UserProfile:
    who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))
    return UserProfile.from_attributes(store.get_attributes(who))


def at_once(*work: Callable[[], Any]) -> list[Any]:
    """Run each piece of work in its own thread, released together; return their results in order."""
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        start.wait(timeout=10)
        try:
            results[i] = work[i]()
        except BaseException as exc:  # handed back to the test, which fails on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def spoken(answer: dict[str, Any]) -> str:
    return answer["response"].get("outputSpeech", {}).get("ssml", "")


def lost_in_two_field_trials(runner: SkillRunner, store: AbstractPersistenceAdapter) -> int:
    """U1: "my bedtime is 10:30"  and, at the same instant,  U2: "remember I take glycinate"."""
    lost = 0
    for trial in range(TRIALS):
        user = f"amzn1.ask.account.SAME-INSTANT-{trial}"
        bedtime = envelope(intent_request("SetBedtimeIntent", time="22:30"), user_id=user)
        form = envelope(intent_request("SetPreferenceIntent", form="glycinate:glycinate"), user_id=user)
        answers = at_once(lambda: runner.invoke(bedtime), lambda: runner.invoke(form))
        assert all(isinstance(a, dict) and "went wrong" not in spoken(a) for a in answers), answers
        profile = stored(store, user)
        lost += (profile.bedtime != "22:30") + (profile.preferred_form != "glycinate")
    return lost


def test_200_same_instant_two_field_saves_on_sqlite_lose_nothing(tmp_path: Path, clock: Clock) -> None:
    store = SqlitePersistenceAdapter(tmp_path / "bedtime.sqlite3")
    try:
        assert lost_in_two_field_trials(skill_on(store, clock), store) == 0
    finally:
        store.close()


def test_200_same_instant_two_field_saves_on_dynamodb_lose_nothing(
    dynamodb_endpoint: str, fake_aws: None, clock: Clock  # noqa: F811 - fixtures
) -> None:
    store = make_persistence_adapter(dynamodb_settings(dynamodb_endpoint))
    assert store is not None
    assert lost_in_two_field_trials(skill_on(store, clock), store) == 0


# -- a slow reminder request and "I took my magnesium" meanwhile ---------------------------------------


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.01)


def test_a_slow_reminder_request_keeps_the_night_counted_meanwhile(night: Conversation, alexa_api: AlexaApiStub,
                                                                    store: SqlitePersistenceAdapter) -> None:
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")  # learns the time zone too, so "I took it" calls no API
    release = alexa_api.hold_next()
    # U (phone): remind me every night   ... the Reminders API takes its time ...
    slow = threading.Thread(target=lambda: night.ask("ReminderIntent", time="21:45"))
    slow.start()
    wait_for(lambda: alexa_api.open_calls == 1)
    # U (bedroom speaker), meanwhile: I took my magnesium
    meanwhile = Conversation(night.runner, night.said, user_id=night.user_id, api_endpoint=night.api_endpoint)
    meanwhile.ask("DoseTakenIntent")
    assert meanwhile.ask("AMAZON.YesIntent").said("dose_taken.first")  # keep count: yes
    release.set()
    slow.join(timeout=10)

    profile = stored(store, night.user_id)
    # the night counted while the reminder was being made is still there
    assert (profile.count_nights, profile.nights_counted) == (True, 1)
    assert profile.reminder_ids == list(alexa_api.reminders)  # and so is the reminder
    assert profile.reminder_claimed_at is None


# -- "remind me every night", five times at once -------------------------------------------------------


def test_five_simultaneous_remind_me_make_one_reminder(tmp_path: Path, clock: Clock, alexa_api: AlexaApiStub) -> None:
    store = SqlitePersistenceAdapter(tmp_path / "bedtime.sqlite3")
    runner = skill_on(store, clock, alexa_api=True)
    alexa_api.default_time_zone = "America/New_York"
    try:
        for person in range(10):
            user = f"amzn1.ask.account.FIVE-{person}"
            token = f"token-{person}"  # the access token says whose reminders the API lists

            def remind_me(user: str = user, token: str = token) -> dict[str, Any]:
                body = envelope(intent_request("ReminderIntent", time="21:45"), user_id=user, api_endpoint=alexa_api.endpoint,
                                consent=True)
                body["context"]["System"]["apiAccessToken"] = token
                return runner.invoke(body)

            runner.invoke(envelope(intent_request("SetBedtimeIntent", time="22:30"), user_id=user,
                                   api_endpoint=alexa_api.endpoint))
            answers = at_once(*[remind_me] * 5)

            made = [r for r in alexa_api.calls("POST", REMINDERS) if r.headers["authorization"] == f"Bearer {token}"]
            assert len(made) == 1, f"person {person}: {len(made)} reminders"
            assert all("9:45 PM" in spoken(a) for a in answers)  # created, or "you already have one" at 9:45
            assert stored(store, user).reminder_ids == [t for t, o in alexa_api.owners.items() if o == f"Bearer {token}"]
    finally:
        store.close()


# -- "cancel" finds every reminder the skill made ---------------------------------------------------------


def test_cancel_deletes_reminders_whose_ids_were_never_stored(night: Conversation, alexa_api: AlexaApiStub) -> None:
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("ReminderIntent", time="21:45")
    # Two more, made by an older release that lost their ids (the bug this release fixes).
    for _ in range(2):
        alexa_api.add_reminder("token")
    assert len(alexa_api.reminders) == 3

    assert night.ask("CancelReminderIntent").said("reminder.cancelled")

    assert alexa_api.reminders == {}
    assert len(alexa_api.calls("DELETE", REMINDERS)) == 3


def test_remind_me_replaces_the_duplicates_an_older_release_left_with_one(
    night: Conversation, alexa_api: AlexaApiStub, store: SqlitePersistenceAdapter
) -> None:
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")
    for _ in range(3):
        alexa_api.add_reminder("token")

    assert night.ask("ReminderIntent", time="21:45").said("reminder.moved")

    assert len(alexa_api.reminders) == 1 and len(alexa_api.calls("DELETE", REMINDERS)) == 3
    assert stored(store, night.user_id).reminder_ids == list(alexa_api.reminders)


def test_forget_me_deletes_reminders_whose_ids_were_never_stored(night: Conversation, alexa_api: AlexaApiStub) -> None:
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")
    alexa_api.add_reminder("token")

    night.ask("ForgetMeIntent")
    assert night.ask("AMAZON.YesIntent").said("forget.done")

    assert alexa_api.reminders == {}


def test_a_claim_left_by_a_request_that_died_does_not_block_reminders_for_ever(
    night: Conversation, alexa_api: AlexaApiStub, store: SqlitePersistenceAdapter, clock: Clock
) -> None:
    night.consent = True
    night.ask("SetBedtimeIntent", time="22:30")
    who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=night.user_id))))
    seen = store.read(who)
    # A request claimed the reminder and then its process was killed.
    store.write(who, {**seen.attributes, "reminder_claimed_at": int(clock().timestamp())}, expected=seen.version)

    # someone is making it right now, or it died not knowing: it may be set, and nothing is made twice
    assert night.ask("ReminderIntent", time="21:45").said("reminder.maybe_set")
    assert not alexa_api.calls("POST", REMINDERS)
    clock.now += timedelta(minutes=2)
    assert night.ask("ReminderIntent", time="21:45").said("reminder.created")
    assert len(alexa_api.reminders) == 1


# -- "I took my magnesium" from two devices at once, and a preference meanwhile --------------------------------


def who(user_id: str) -> RequestEnvelope:
    return RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))


def night_count_trials(runner: SkillRunner, store: AbstractPersistenceAdapter, trials: int) -> dict[str, int]:
    """U1 (speaker): "I took my magnesium"; U2 (phone): the same; U3: "remember I take glycinate"; all at once.

    Each person agreed to counting and has three nights counted, the last one yesterday.
    """
    assert isinstance(store, VersionedStore)
    found = {"counted twice": 0, "not counted": 0, "preference lost": 0, "answers not one each": 0}
    for trial in range(trials):
        user = f"amzn1.ask.account.TWO-DEVICES-{trial}"
        store.write(who(user), {"count_nights": True, "nights_counted": 3, "started_on": "2026-11-23",
                                "last_counted_on": "2026-11-25"}, expected=0)
        took = envelope(intent_request("DoseTakenIntent"), user_id=user)
        form = envelope(intent_request("SetPreferenceIntent", form="glycinate:glycinate"), user_id=user)
        answers = at_once(lambda: runner.invoke(took), lambda: runner.invoke(took), lambda: runner.invoke(form))
        assert all(isinstance(a, dict) and "went wrong" not in spoken(a) for a in answers), answers
        profile = stored(store, user)
        found["counted twice"] += profile.nights_counted > 4
        found["not counted"] += profile.nights_counted < 4 or str(profile.last_counted_on) != "2026-11-26"
        found["preference lost"] += profile.preferred_form != "glycinate"
        heard = sorted("night 4" if "night 4" in spoken(a) else "already" if "already" in spoken(a) else "?"
                       for a in answers[:2])
        found["answers not one each"] += heard != ["already", "night 4"]
    return found


def test_200_same_instant_i_took_its_on_sqlite_count_one_night_once(tmp_path: Path, clock: Clock) -> None:
    store = SqlitePersistenceAdapter(tmp_path / "bedtime.sqlite3")
    try:
        assert night_count_trials(skill_on(store, clock), store, TRIALS) == dict.fromkeys(
            ("counted twice", "not counted", "preference lost", "answers not one each"), 0)
    finally:
        store.close()


def test_100_same_instant_i_took_its_on_dynamodb_count_one_night_once(
    dynamodb_endpoint: str, fake_aws: None, clock: Clock  # noqa: F811 - fixtures
) -> None:
    store = make_persistence_adapter(dynamodb_settings(dynamodb_endpoint))
    assert store is not None
    assert night_count_trials(skill_on(store, clock), store, TRIALS // 2) == dict.fromkeys(
        ("counted twice", "not counted", "preference lost", "answers not one each"), 0)
