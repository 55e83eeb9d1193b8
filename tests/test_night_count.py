"""The nightly count of "I took my magnesium", as a person lives it: offered once, kept only after a yes.

Every conversation runs on the real skill over a real SQLite file, and what is stored is read
back from that file: after a yes, a count and two dates; after a no, only the no.
"""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.knowledge.nights import tonight
from skill.profile.models import UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from tests.alexa_api_stub import AlexaApiStub
from tests.conftest import Clock
from tests.conversation import Conversation

TONIGHT = "2026-11-26"  # the clock starts at 21:30 in New York on 26 November
# A night as the profile writes it; the store's own time of the last change is a timestamp (…T01:02:03).
A_DATE = re.compile(rb"\d{4}-\d{2}-\d{2}(?!T\d)")


def stored_row(tmp_path: Path) -> dict[str, Any] | None:
    """This person's row, as the SQLite file holds it (None when there is none)."""
    with sqlite3.connect(tmp_path / "bedtime.sqlite3") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'user_attributes'").fetchone():
            return None  # the store makes its table on first use
        rows = db.execute("SELECT attributes FROM user_attributes").fetchall()
    assert len(rows) <= 1
    return json.loads(rows[0][0]) if rows else None


def kept(tmp_path: Path) -> dict[str, Any]:
    """What the row holds beyond a new profile's empty defaults."""
    row = stored_row(tmp_path) or {}
    empty = UserProfile().to_attributes()
    return {name: value for name, value in row.items() if name not in empty or value != empty[name]}


def file_bytes(tmp_path: Path) -> bytes:
    """The SQLite file and its write-ahead log, byte for byte."""
    return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("bedtime.sqlite3*")))


# -- the first "I took my magnesium" -------------------------------------------------------------------


def test_the_first_i_took_it_is_acknowledged_and_asks_before_anything_is_kept(night: Conversation,
                                                                               tmp_path: Path) -> None:
    # U: I took my magnesium
    a = night.ask("DoseTakenIntent")
    # A: Good, that's tonight's magnesium. Would you like me to keep count of your nights? I'd keep only
    #    the number of nights and the date you started, nothing about your health.
    assert a.said("dose_taken.noted", "count.offer") and not a.ended
    assert "number of nights" in a.speech and "date you started" in a.speech and "nothing about your health" in a.speech
    assert a.reprompt and "yes or no" in a.reprompt
    assert stored_row(tmp_path) is None  # nothing is written until they answer


def test_yes_keeps_a_count_of_one_and_the_first_date_and_nothing_more(night: Conversation, tmp_path: Path,
                                                                      clock: Clock) -> None:
    night.ask("DoseTakenIntent")
    # U: yes
    a = night.ask("AMAZON.YesIntent")
    # A: Okay, I'll keep count. Noted: night one. Most people need 2 to 4 weeks ... Sleep well.
    assert a.said("count.agreed", "dose_taken.first") and "2 to 4 weeks" in a.speech and a.ended
    assert kept(tmp_path) == {
        "count_nights": True, "nights_counted": 1, "started_on": TONIGHT, "last_counted_on": TONIGHT,
        # when it was counted, so that a time zone learned later tonight cannot make it a second night
        "last_counted_at": int(clock().timestamp()),
        # the device's time zone, read to know when "tonight" is, is kept as for every night-based answer
        "time_zone": "America/New_York",
    }
    assert A_DATE.search(file_bytes(tmp_path))  # the check the "no" below passes does find the dates a yes keeps


def test_keep_count_said_to_the_offer_is_its_yes(night: Conversation, tmp_path: Path) -> None:
    night.ask("DoseTakenIntent")
    # U: yes keep count   (heard as CountNightsIntent)  -> tonight is counted, as after a yes
    a = night.ask("CountNightsIntent")
    assert a.said("count.agreed", "dose_taken.first") and a.ended
    assert kept(tmp_path)["nights_counted"] == 1


def test_no_keeps_only_the_no_and_the_file_holds_no_date(night: Conversation, tmp_path: Path) -> None:
    night.ask("DoseTakenIntent")
    # U: no
    a = night.ask("AMAZON.NoIntent")
    # A: All right, I won't keep count. ... If you change your mind, say: keep count of my nights. Sleep well.
    assert a.said("count.declined") and "keep count of my nights" in a.speech and a.ended
    assert not a.said("store.unsaved")
    assert kept(tmp_path) == {"count_nights": False}
    assert A_DATE.search(file_bytes(tmp_path)) is None  # not a single night's date, anywhere in the file


def test_after_a_no_i_took_it_is_still_answered_kindly_and_never_asked_again(night: Conversation, tmp_path: Path,
                                                                              clock: Clock) -> None:
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.NoIntent")
    for day in (0, 1, 2):
        clock.local(21, 45, days=day)
        # U: I took my magnesium   A: Good, that's tonight's magnesium. Sleep well.
        a = night.ask("DoseTakenIntent")
        assert a.keys == ["dose_taken.thanks"] and a.ended
    assert kept(tmp_path) == {"count_nights": False}


# -- night after night -----------------------------------------------------------------------------------


def test_the_second_night_counts_two_and_asks_nothing(night: Conversation, tmp_path: Path, clock: Clock) -> None:
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.YesIntent")
    clock.local(21, 40, days=1)
    # U (the next night): I took my magnesium
    a = night.ask("DoseTakenIntent")
    assert a.said("dose_taken.early") and "night 2" in a.speech and not a.said("count.offer") and a.ended
    assert (kept(tmp_path)["nights_counted"], kept(tmp_path)["started_on"], kept(tmp_path)["last_counted_on"]) == (
        2, TONIGHT, "2026-11-27")


def test_twice_in_one_night_is_already_never_a_second_night(night: Conversation, tmp_path: Path,
                                                            clock: Clock) -> None:
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.YesIntent")
    clock.local(23, 50)
    # U (later the same night): I took my magnesium
    a = night.ask("DoseTakenIntent")
    # A: I've already noted tonight, so there's no need for another dose. Sleep well.   (T4)
    assert a.keys == ["dose_taken.already"] and "no need for another dose" in a.speech
    assert kept(tmp_path)["nights_counted"] == 1


# -- a time zone learned later in the evening ----------------------------------------------------------


def at_local(clock: Clock, zone: str, day: int, hour: int, minute: int = 0) -> None:
    """Set the clock to a wall-clock time in ``zone``, in December 2026."""
    clock.now = datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def test_a_time_zone_learned_later_in_the_evening_never_counts_the_night_twice(
    night: Conversation, alexa_api: AlexaApiStub, clock: Clock, tmp_path: Path
) -> None:
    alexa_api.default_time_zone = "Australia/Sydney"  # the device's setting, whenever the settings API answers
    night.ask("CountNightsIntent")  # U: keep count of my nights
    at_local(clock, "Australia/Sydney", 7, 20, 30)
    alexa_api.fail_next(503)  # the settings API fails: tonight is placed in the default time zone, New York's
    # U (20:30 on 7 December in Sydney, 04:30 in New York): I took my magnesium   A: Noted: night one. ...
    assert night.ask("DoseTakenIntent").said("dose_taken.first")
    assert kept(tmp_path)["last_counted_on"] == "2026-12-06" and "time_zone" not in kept(tmp_path)
    at_local(clock, "Australia/Sydney", 7, 22, 0)
    # U (22:00; the settings API answers, and in Sydney it is the night of 7 December): I took my magnesium
    a = night.ask("DoseTakenIntent")
    # A: I've already noted tonight, so there's no need for another dose. Sleep well.   (not "that's night 2")
    assert a.keys == ["dose_taken.already"]
    assert (kept(tmp_path)["nights_counted"], kept(tmp_path)["time_zone"]) == (1, "Australia/Sydney")
    at_local(clock, "Australia/Sydney", 8, 21, 0)
    # U (the next evening): I took my magnesium   A: Noted: that's night 2. ...
    a = night.ask("DoseTakenIntent")
    assert a.said("dose_taken.early") and "night 2" in a.speech
    assert (kept(tmp_path)["nights_counted"], kept(tmp_path)["last_counted_on"]) == (2, "2026-12-08")


def test_a_genuine_next_night_counts_though_the_first_was_dated_a_night_ahead(
    night: Conversation, alexa_api: AlexaApiStub, clock: Clock, tmp_path: Path
) -> None:
    alexa_api.default_time_zone = "Pacific/Honolulu"
    night.ask("CountNightsIntent")
    at_local(clock, "Pacific/Honolulu", 8, 0, 30)  # half past midnight: still the night of 7 December there
    alexa_api.fail_next(503)  # in New York it is 05:30 on the 8th: a night ahead of the person's
    # U: I took my magnesium   A: Noted: night one. ...
    assert night.ask("DoseTakenIntent").said("dose_taken.first")
    assert kept(tmp_path)["last_counted_on"] == "2026-12-08"
    at_local(clock, "Pacific/Honolulu", 8, 21, 0)
    # U (the next evening, 20 hours and a half later; the settings API answers): I took my magnesium
    a = night.ask("DoseTakenIntent")
    # A: Noted: that's night 2. ...   (its date, 8 December again in Honolulu, does not make it the same night)
    assert a.said("dose_taken.early") and "night 2" in a.speech


def test_in_every_time_zone_one_evening_counts_once_and_the_next_evening_counts_again() -> None:
    """Every IANA zone, "I took it" at six times from 19:00 to 02:00, first placed in the default zone (the settings
    API failed) and 90 minutes later in the device's, or the other way round; then again 24 hours later."""
    counted_twice, next_night_missed, trials = 0, 0, 0
    for zone in sorted(available_timezones()):
        for day, hour, minute in ((7, 19, 0), (7, 20, 30), (7, 22, 0), (7, 23, 30), (8, 0, 30), (8, 2, 0)):
            for zones in (("America/New_York", zone), (zone, "America/New_York")):
                first = datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
                profile = UserProfile(count_nights=True)

                def i_took_it(when: datetime, in_zone: str) -> int | None:
                    return profile.count_night(tonight("22:00", in_zone, when).night, int(when.timestamp()))

                i_took_it(first, zones[0])
                counted_twice += i_took_it(first + timedelta(minutes=90), zones[1]) is not None
                next_night_missed += i_took_it(first + timedelta(hours=24), zone) is None
                trials += 1
    print(f"\n{trials} evenings: {counted_twice} counted twice, {next_night_missed} next nights not counted")
    assert (counted_twice, next_night_missed) == (0, 0)


# -- changing one's mind ---------------------------------------------------------------------------------


def test_declining_then_later_opting_in(night: Conversation, tmp_path: Path, clock: Clock) -> None:
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.NoIntent")
    clock.local(20, 0, days=3)
    # U (three days later): keep count of my nights
    a = night.ask("CountNightsIntent")
    # A: All right, I'll keep count of your nights: only the number of nights and the date you started ...
    assert a.said("count.started") and "nothing about your health" in a.speech
    assert kept(tmp_path) == {"count_nights": True}  # nothing is counted until they say they took it
    assert night.ask("CountNightsIntent").said("count.already_on")  # U: keep count   A: I'm already keeping count ...
    # U: I took my magnesium   A: Noted: night one ...
    a = night.ask("DoseTakenIntent")
    assert a.said("dose_taken.first") and not a.said("count.offer")
    assert kept(tmp_path) == {"count_nights": True, "nights_counted": 1, "started_on": "2026-11-29",
                              "last_counted_on": "2026-11-29", "last_counted_at": int(clock().timestamp()),
                              "time_zone": "America/New_York"}
    # U: keep count of my nights   (again)   A: I'm already keeping count. Your count stands at 1, since November 29. ...
    a = night.ask("CountNightsIntent")
    assert a.said("count.so_far") and "stands at 1, since November 29" in a.speech
    assert kept(tmp_path)["nights_counted"] == 1


def test_asking_for_the_count_is_not_consenting_to_one(night: Conversation, tmp_path: Path) -> None:
    # U: what's my streak   (no count was ever agreed to)
    a = night.ask("NightsSoFarIntent")
    # A: I'm not keeping count of your nights. If you'd like me to, say: keep count of my nights ...
    assert a.said("count.not_kept") and not a.said("count.started")
    assert kept(tmp_path) == {} and not A_DATE.search(file_bytes(tmp_path))
    # U: I took my magnesium  A: ... shall I keep count?  U: how many nights is that now?
    night.ask("DoseTakenIntent")
    a = night.ask("NightsSoFarIntent")
    # A: I'm not keeping count yet. Would you like me to keep count of your nights? ...   (the offer stands)
    assert a.said("count.not_yet", "count.offer") and kept(tmp_path) == {}
    # U: yes   U: how many nights have I done?   A: ... stands at 1, since ...
    night.ask("AMAZON.YesIntent")
    a = night.ask("NightsSoFarIntent")
    assert a.said("count.so_far") and "stands at 1" in a.speech
    assert kept(tmp_path)["nights_counted"] == 1  # asking counted nothing more


def test_forget_me_takes_the_count_and_the_answer_with_it(night: Conversation, tmp_path: Path) -> None:
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.YesIntent")
    night.ask("ForgetMeIntent")
    night.ask("AMAZON.YesIntent")
    assert stored_row(tmp_path) is None
    assert night.ask("DoseTakenIntent").said("count.offer")  # asked afresh


# -- a yes answers only the question last asked ----------------------------------------------------------


def test_a_yes_when_nothing_was_asked_does_not_opt_in(night: Conversation, tmp_path: Path) -> None:
    # U: yes   (out of the blue)
    a = night.ask("AMAZON.YesIntent")
    assert a.said("nothing_more") and not a.said("count.agreed")
    assert stored_row(tmp_path) is None
    assert night.ask("DoseTakenIntent").said("count.offer")  # still asked


def test_a_stale_yes_after_another_question_does_not_opt_in(night: Conversation, tmp_path: Path) -> None:
    night.ask("DoseTakenIntent")  # A: ... keep count of your nights?
    night.ask("TimeToWorkIntent")  # U: how long does it take to work   (the question is left unanswered)
    a = night.ask("AMAZON.YesIntent")  # U: yes   (to "anything else?", not to counting)
    assert not a.said("count.agreed")
    assert "count_nights" not in kept(tmp_path)


# -- a count kept by the previous version, before the skill asked -----------------------------------------


def write_a_v2_row(store: SqlitePersistenceAdapter, user_id: str) -> None:
    """A row as schema v2 wrote it: every night in a list, kept without asking."""
    who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))
    store.write(who, {"schema_version": 2, "bedtime": "22:30", "started_on": "2026-11-20", "reminder_ids": [],
                      "dose_nights": ["2026-11-20", "2026-11-21", "2026-11-23"], "last_routine_night": None},
                expected=0)


def test_a_count_from_before_is_carried_on_only_after_a_yes(night: Conversation, store: SqlitePersistenceAdapter,
                                                           tmp_path: Path, clock: Clock) -> None:
    write_a_v2_row(store, night.user_id)
    # U: I took my magnesium
    a = night.ask("DoseTakenIntent")
    # A: Good, that's tonight's magnesium. My count of your nights stands at 3. Would you like me to keep counting? ...
    assert a.said("dose_taken.noted", "count.offer_kept") and "3" in a.speech and "delete the count" in a.speech
    # U: yes   A: Okay, I'll keep count. Noted: that's night 4 ...
    a = night.ask("AMAZON.YesIntent")
    assert a.said("count.agreed", "dose_taken.early") and "night 4" in a.speech
    row = stored_row(tmp_path)
    assert row is not None and "dose_nights" not in row and "last_routine_night" not in row
    assert kept(tmp_path) == {"bedtime": "22:30", "count_nights": True, "nights_counted": 4, "started_on": "2026-11-20",
                              "last_counted_on": TONIGHT, "last_counted_at": int(clock().timestamp()),
                              "time_zone": "America/New_York"}


def test_a_no_deletes_a_count_from_before_and_every_date_of_it(night: Conversation, store: SqlitePersistenceAdapter,
                                                               tmp_path: Path) -> None:
    write_a_v2_row(store, night.user_id)
    night.ask("DoseTakenIntent")
    # U: no
    assert night.ask("AMAZON.NoIntent").said("count.declined")
    assert kept(tmp_path) == {"bedtime": "22:30", "count_nights": False}
    assert A_DATE.search(json.dumps(stored_row(tmp_path)).encode()) is None  # the row holds no date


# -- when the store cannot be written ------------------------------------------------------------------------


def test_a_yes_while_the_store_is_locked_is_still_answered_and_asked_again_next_time(
    night: Conversation, tmp_path: Path, clock: Clock
) -> None:
    night.ask("SetBedtimeIntent", time="22:30")  # learns the time zone, stored
    night.ask("AMAZON.StopIntent")
    night.ask("DoseTakenIntent")
    locker = sqlite3.connect(tmp_path / "bedtime.sqlite3", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock (reads still work: WAL)
    try:
        # U: yes   (the write waits for the lock, then gives up)
        a = night.ask("AMAZON.YesIntent")
        # A: Okay, I'll keep count. Noted: night one ... One thing: I couldn't save that just now ...
        assert a.said("count.agreed", "dose_taken.first", "store.unsaved") and not a.said("error") and a.ended
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert "count_nights" not in kept(tmp_path)
    clock.local(21, 30, days=1)
    # The next night nothing was kept, so the question comes again rather than a count nobody agreed to.
    assert night.ask("DoseTakenIntent").said("count.offer")
