"""The wind-down, as a person lives it: from "start my wind-down" to good night, night after night."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.settings import Settings
from tests.alexa_api_stub import AlexaApiStub
from tests.conftest import Clock, night_skill
from tests.conversation import Conversation, intent_request

DOSE_STEP = ("routine.dose.split", "routine.caveat", "disclaimer", "routine.to_breathe")


def test_first_night_from_start_to_good_night(night: Conversation, alexa_api: AlexaApiStub) -> None:
    # U: Alexa, tell bedtime magnesium to start my wind-down
    a = night.ask("WindDownIntent")
    # A: First, what time do you usually go to bed?
    assert a.said("routine.ask_bedtime") and not a.ended
    # U: ten thirty   (Alexa sends "10:30"; a bedtime without am/pm is the evening)
    a = night.ask("SetBedtimeIntent", time="10:30")
    assert a.said("routine.bedtime_saved", "routine.checkin") and "10:30 PM" in a.speech
    # U: next   (21:30 in New York: the hour before bed)
    a = night.ask_screened("AMAZON.NextIntent")
    assert a.said("routine.dose.window", *DOSE_STEP)
    # A suggested habit, never a number of minutes as if a study set it (T1)
    assert "habit" in a.speech and "minutes" not in a.speech and "kidney" in a.speech and "medicines" in a.speech
    assert 'volume="soft"' in a.ssml
    # U: yes
    a = night.ask("AMAZON.YesIntent")
    assert a.said("routine.breathe", "routine.goodnight") and a.ended
    assert a.ssml.count("<break") >= 10 and "Good night" in a.speech
    # the device's time zone came from the settings API at the request's apiEndpoint
    assert alexa_api.calls("GET", "/v2/devices/")


def test_a_second_session_remembers_the_bedtime_and_a_restart_loses_nothing(
    night: Conversation, settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    night.ask("WindDownIntent")
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("AMAZON.StopIntent")
    # A new server process on the same SQLite file:
    said: list[str] = []
    restarted = SqlitePersistenceAdapter(tmp_path / "bedtime.sqlite3")
    again = Conversation(night_skill(settings, restarted, clock, said), said, api_endpoint=night.api_endpoint)
    a = again.ask("WindDownIntent")
    # it remembers the bedtime, and that tonight's routine stopped at the check-in
    assert a.said("routine.resume_offer") and "the check-in" in a.speech and not a.said("routine.ask_bedtime")


def test_early_in_the_evening_it_names_the_dose_time(night: Conversation, clock: Clock) -> None:
    clock.local(19, 0)
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("WindDownIntent")
    a = night.ask_screened("AMAZON.NextIntent")
    assert a.said("routine.dose.early") and "9:45 PM" in a.speech


def test_past_bedtime_it_keeps_it_short_and_never_doubles(night: Conversation, clock: Clock) -> None:
    clock.local(23, 40)
    night.ask("SetBedtimeIntent", time="22:30")
    a = night.ask("WindDownIntent")
    assert a.said("routine.checkin_late") and "10:30 PM" in a.speech
    a = night.ask_screened("AMAZON.NextIntent")
    assert a.said("routine.dose.late", "routine.dose.split") and "never double" in a.speech


def test_no_to_the_breathing_says_good_night_without_it(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("WindDownIntent")
    night.ask_screened("AMAZON.NextIntent")
    a = night.ask("AMAZON.NoIntent")
    assert a.said("routine.goodnight") and not a.said("routine.breathe") and a.ended


def test_stop_mid_routine_then_coming_back_offers_to_resume(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("WindDownIntent")
    night.ask_screened("AMAZON.NextIntent")  # the dose step
    a = night.ask("AMAZON.StopIntent")
    assert a.said("routine.paused") and a.ended
    # U: Alexa, open bedtime magnesium
    a = night.launch()
    assert a.said("routine.resume_offer") and "your magnesium" in a.speech
    # U: yes
    a = night.ask("AMAZON.YesIntent")
    assert a.said("routine.dose.window", "routine.to_breathe")


def test_coming_back_and_starting_over(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("WindDownIntent")
    night.ask_screened("AMAZON.NextIntent")
    night.ask("AMAZON.CancelIntent")
    assert night.ask("WindDownIntent").said("routine.resume_offer")
    a = night.ask("AMAZON.StartOverIntent")
    assert a.said("routine.checkin")


def test_repeat_and_help_work_at_every_step(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    first = night.ask("WindDownIntent")
    again = night.ask("AMAZON.RepeatIntent")
    assert again.ssml == first.ssml
    assert night.ask("AMAZON.HelpIntent").said("routine.help")
    assert night.ask_screened("AMAZON.NextIntent").said("routine.dose.window")
    assert night.ask("AMAZON.RepeatIntent").said() and night.ask_screened("AMAZON.NextIntent").said("routine.breathe")


def test_a_question_mid_routine_leaves_it_and_yes_does_not_jump_ahead(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("WindDownIntent")
    a = night.ask("TimeToWorkIntent")
    assert a.said("time_to_work")
    assert night.ask("AMAZON.YesIntent").said("nothing_more")


def test_a_condition_named_tonight_gates_the_routine_dose(night: Conversation) -> None:
    night.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("SafetyIntent", condition="pregnancy:pregnant")
    night.ask("WindDownIntent")
    a = night.ask_screened("AMAZON.NextIntent")
    assert a.said("gate.pregnancy", "disclaimer") and not a.said("routine.dose.window")


def test_start_my_wind_down_oh_and_im_pregnant_starts_it_and_its_dose_step_is_gated(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    # U: start my wind-down, oh and I'm pregnant   -> the routine starts, with the gate's words for the mention
    a = night.ask("WindDownIntent", condition="pregnancy:pregnant")
    assert a.said("gate.pregnancy") and any(k.startswith("routine.checkin") for k in a.keys)
    a = night.ask_screened("AMAZON.NextIntent")  # the dose step
    assert a.said("gate.pregnancy", "disclaimer") and not a.said("routine.dose.window")


def test_a_saved_amount_is_spoken_only_through_the_gate(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    a = night.ask_screened("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    assert a.said("preference.saved.both") and "300 milligrams of glycinate" in a.speech
    night.ask("WindDownIntent")
    assert "300 milligrams of glycinate" in night.ask_screened("AMAZON.NextIntent").speech
    night.ask("AMAZON.StopIntent")
    # 2000 mg of oxide holds about 1200 mg of magnesium: past the gate's 800
    a = night.ask_screened("SetPreferenceIntent", amount="2000", unit="mg:milligrams", form="oxide:magnesium oxide")
    assert a.said("preference.saved.both", "gate.over_800")
    night.ask("WindDownIntent")
    a = night.ask("AMAZON.StartOverIntent")
    a = night.ask_screened("AMAZON.NextIntent")
    assert a.said("gate.over_800") and "2000 milligrams of" not in a.speech


def test_remember_that_keeps_what_was_just_said(night: Conversation) -> None:
    # U: tell me about glycinate     U: remember that   -> glycinate is kept for the wind-down
    night.ask("FormInfoIntent", form="glycinate:glycinate")
    a = night.ask_screened("SetPreferenceIntent")
    assert a.said("preference.saved.form") and "glycinate" in a.speech
    # U: remember my magnesium, in a new session, with nothing said before -> asked which form
    night.ask("AMAZON.StopIntent")
    assert night.ask_screened("SetPreferenceIntent").said("preference.unclear")


def test_a_form_saved_alone_asks_for_the_amount_and_the_bare_answer_is_kept(night: Conversation) -> None:
    # U: remember i take glycinate   A: Got it... And how many milligrams do you take? Or say that's all.
    night.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = night.ask_screened("SetPreferenceIntent", form="glycinate:glycinate")
    assert a.said("preference.saved.form", "preference.ask_amount") and not a.ended
    elicit = [d for d in a.body.get("directives", []) if d["type"] == "Dialog.ElicitSlot"]
    assert [(d["updatedIntent"]["name"], d["slotToElicit"]) for d in elicit] == [("SetPreferenceIntent", "amount")]
    # U: and 300 mg  -> Alexa sends the elicited intent with only the amount; the form saved a turn ago stays
    a = night.ask_screened("SetPreferenceIntent", amount="300")
    assert a.said("preference.saved.both") and "300 milligrams of glycinate" in a.speech
    # Saved again with both known, nothing more is asked.
    a = night.ask_screened("SetPreferenceIntent", form="citrate:citrate")
    assert a.said("preference.saved.both", "anything_else") and not a.said("preference.ask_amount")


def test_the_amount_answered_to_that_question_still_meets_the_gate(night: Conversation) -> None:
    night.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    night.ask_screened("SetPreferenceIntent", form="glycinate:glycinate")
    a = night.ask_screened("SetPreferenceIntent", amount="1200")
    assert a.said("preference.saved.both", "gate.over_800", "disclaimer")
    # Someone who named their health is never asked for an amount to keep: the gate speaks instead.
    night.ask("AMAZON.StopIntent")
    night.launch()  # U: open bedtime magnesium   U: I'm on dialysis   U: remember I take citrate
    night.ask("SafetyIntent", condition="kidney:dialysis")
    a = night.ask_screened("SetPreferenceIntent", form="citrate:citrate")
    assert a.said("gate.kidney") and not a.said("preference.ask_amount")


def test_i_took_my_magnesium_counts_the_nights(night: Conversation, clock: Clock) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    # U: I took my magnesium   A: ... Would you like me to keep count of your nights?   U: yes
    assert night.ask("DoseTakenIntent").said("count.offer")
    a = night.ask("AMAZON.YesIntent")
    assert a.said("dose_taken.first") and "2 to 4 weeks" in a.speech and a.ended
    assert night.ask("DoseTakenIntent").said("dose_taken.already")
    clock.local(21, 30, days=1)
    a = night.ask("DoseTakenIntent")
    assert a.said("dose_taken.early") and "night 2" in a.speech and "2 to 4 weeks" in a.speech
    for day in range(2, 14):
        clock.local(21, 30, days=day)
        a = night.ask("DoseTakenIntent")
    assert a.said("dose_taken.later") and "night 14" in a.speech and "weeks" not in a.speech


def test_after_midnight_is_still_tonight(night: Conversation, clock: Clock) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.YesIntent")  # keep count
    clock.local(1, 15, days=1)  # 1:15 a.m. the next day
    assert night.ask("DoseTakenIntent").said("dose_taken.already")


def test_forget_me_asks_first_then_deletes_everything(night: Conversation, store: SqlitePersistenceAdapter,
                                                      tmp_path: Path) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    a = night.ask("ForgetMeIntent")
    assert a.said("forget.confirm") and not a.ended
    assert night.ask("AMAZON.NoIntent").said("forget.kept")
    night.ask("ForgetMeIntent")
    a = night.ask("AMAZON.YesIntent")
    assert a.said("forget.done") and a.ended
    rows = sqlite3.connect(tmp_path / "bedtime.sqlite3").execute("select count(*) from user_attributes").fetchone()
    assert rows == (0,)
    assert night.ask("WindDownIntent").said("routine.ask_bedtime")


def test_a_stale_yes_never_confirms_forgetting(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask("ForgetMeIntent")
    night.ask("TimeToWorkIntent")  # the person asked something else instead
    night.ask("AMAZON.YesIntent")
    assert night.ask("WindDownIntent").said("routine.checkin")  # the bedtime is still there


def test_nothing_about_health_is_stored(night: Conversation, tmp_path: Path) -> None:
    night.ask("SafetyIntent", condition="kidney:kidney disease")
    night.ask_screened("DoseIntent", amount="300", unit="mg:milligrams", condition="pregnancy:pregnant")
    night.ask("SetBedtimeIntent", time="22:30")
    night.ask_screened("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    night.ask("DoseTakenIntent")
    night.ask("AMAZON.YesIntent")  # keep count
    data = (tmp_path / "bedtime.sqlite3").read_bytes()
    for path in tmp_path.glob("bedtime.sqlite3*"):
        data += path.read_bytes()
    assert b"22:30" in data  # the choices are there...
    for word in (b"kidney", b"pregnan", b"condition", b"medicine", b"amzn1.ask.account"):
        assert word not in data  # ...and nothing about health, nor the raw user id


def test_a_vague_bedtime_is_asked_again(night: Conversation) -> None:
    night.ask("WindDownIntent")
    a = night.ask("SetBedtimeIntent", time="EV")
    assert a.said("routine.bedtime_unclear") and not a.ended
    assert night.ask("SetBedtimeIntent", time="23:00").said("routine.checkin")


def test_the_same_envelope_twice_is_answered_the_same(night: Conversation) -> None:
    night.ask("SetBedtimeIntent", time="22:30")
    a = night.send(intent_request("WindDownIntent"))
    assert a.said("routine.checkin")
