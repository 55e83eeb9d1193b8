"""The gate fails closed: a health mention the skill does not recognise still stops every dose path.

Each dose path is one small conversation with a mention no word list knows ("zorbitrex", as Alexa
sends an unresolved slot value). The last test breaks the fail-closed rule on purpose and shows that
every path's check then fails: the checks can fail, so their passing means something.
"""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest

import skill.handlers.base as handler_base
import skill.speech as speech
from skill.builder import build_skill
from skill.knowledge.markets import MARKETS
from skill.knowledge import parse_condition
from skill.knowledge.topics import MILD_SYMPTOMS as MILD
from skill.runtime import SkillRunner
from skill.services import Services
from skill.settings import Settings
from tests.conftest import Clock
from tests.conversation import Conversation

UNKNOWN = "zorbitrex"  # a medicine nobody listed: no id, ER_SUCCESS_NO_MATCH
DOSE_FIGURES = {"dose.general", "dose.low", "dose.everyday", "dose.between", "dose.deficient", "dose.converted",
                "dose.upper_limit", "elemental.converted", "routine.dose.yours", "label.if_compound",
                "preference.saved.amount"}


DOCTOR = ("gate.", "screen.yes", "screen.unsure")


def gated(turn_keys: list[str]) -> None:
    assert not DOSE_FIGURES & set(turn_keys), f"a dose was spoken: {turn_keys}"
    assert any(k.startswith(DOCTOR) for k in turn_keys), f"no doctor or pharmacist: {turn_keys}"


def dose_path(talk: Conversation) -> None:
    # U: I take zorbitrex. How much magnesium should I take?
    talk.ask("SafetyIntent", condition=UNKNOWN)
    gated(talk.ask("DoseIntent").keys)


def same_breath_path(talk: Conversation) -> None:
    # U: I'm on zorbitrex, can I take 400 mg?
    gated(talk.ask("DoseIntent", amount="400", unit="mg:milligrams", condition=UNKNOWN).keys)


def label_path(talk: Conversation) -> None:
    # U: my bottle says 500 mg glycinate, how much magnesium is that?  (after naming the medicine)
    talk.ask("SafetyIntent", condition=UNKNOWN)
    gated(talk.ask("ElementalIntent", amount="500", unit="mg:milligrams", form="glycinate:glycinate").keys)


def routine_path(talk: Conversation) -> None:
    # The wind-down's dose step speaks the saved amount: not after a health mention.
    talk.ask("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    talk.ask("SafetyIntent", condition=UNKNOWN)
    talk.ask("WindDownIntent")
    talk.ask("SetBedtimeIntent", time="22:30")
    gated(talk.ask("AMAZON.NextIntent").keys)


def saved_amount_path(talk: Conversation) -> None:
    # U: I take zorbitrex. Remember that I take 300 milligrams of glycinate.
    talk.ask("SafetyIntent", condition=UNKNOWN)
    keys = talk.ask("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate").keys
    assert any(k.startswith("gate.") for k in keys), keys


def follow_up_path(talk: Conversation) -> None:
    # U: how much should I take?  A: a quick check...  U: no  A: 200 to 400...  U: what about for my mum, she's on zorbitrex?
    talk.ask_screened("DoseIntent")
    gated(talk.ask("WhatAboutIntent", condition=UNKNOWN).keys)
    gated(talk.ask("DoseIntent", amount="300", unit="mg:milligrams").keys)  # and for the rest of the session


def per_capsule_path(talk: Conversation) -> None:
    talk.ask("DoseIntent", count="2")
    talk.ask("SafetyIntent", condition=UNKNOWN)
    gated(talk.ask("DoseIntent", amount="200", unit="mg:milligrams").keys)


def unreadable_age_path(talk: Conversation) -> None:
    # U: I'm <a number Alexa could not make out>, can I take 300 mg?   (AMAZON.NUMBER sends "?")
    gated(talk.ask("DoseIntent", age="?", amount="300", unit="mg:milligrams").keys)


def unknown_symptom_path(talk: Conversation) -> None:
    # U: my lips went tingly after it, how much should I take?   A: stop and get advice, no dose.
    keys = talk.ask("DoseIntent", symptom="tingly lips").keys
    assert "symptom.warning" in keys and not DOSE_FIGURES & set(keys), keys
    gated(talk.ask("DoseIntent").keys)  # and for the rest of the session


def day_amount_path(talk: Conversation) -> None:
    # U: I'm on zorbitrex, can I take 200 mg twice a day?   (the day's amount, 400, is within range)
    gated(talk.ask("DoseIntent", amount="200", unit="mg:milligrams", times="two:twice", condition=UNKNOWN).keys)
    # U: and 100 in the morning and 100 at night?
    gated(talk.ask("DoseIntent", amount="100", unit="mg:milligrams", more_amount="100").keys)


def already_taken_path(talk: Conversation) -> None:
    # U: I take zorbitrex. I took 1200 mg by mistake.   A: the doctor's line and the signs, no dose advice;
    talk.ask("SafetyIntent", condition=UNKNOWN)
    talk.ask("MissedDoseIntent", amount="1200", unit="mg:milligrams")
    gated(talk.ask("DoseIntent", amount="300", unit="mg:milligrams").keys)  # and no dose after it


def follow_up_amount_path(talk: Conversation) -> None:
    # U: is 200 mg okay?  (screened: no)  U: I'm on zorbitrex.  U: and if I took it twice a day?  U: and another 100 at night?
    talk.ask_screened("DoseIntent", amount="200", unit="mg:milligrams")
    talk.ask("SafetyIntent", condition=UNKNOWN)
    gated(talk.ask("DoseIntent", times="two:twice").keys)
    gated(talk.ask("DoseIntent", more_amount="100").keys)


def label_follow_up_path(talk: Conversation) -> None:
    # U: how much magnesium is in 500 mg of citrate?  U: and in taurate, for my mum? she's on zorbitrex
    talk.ask("ElementalIntent", amount="500", unit="mg:milligrams", form="citrate:citrate")
    gated(talk.ask("WhatAboutIntent", form="taurate:taurate", condition=UNKNOWN).keys)
    # U: and in oxide?   -> still gated: the mention holds for the session
    gated(talk.ask("WhatAboutIntent", form="oxide:oxide").keys)


def missed_night_path(talk: Conversation) -> None:
    # U: I take zorbitrex.  U: I missed last night, can I take extra tonight?
    # A: never double, and the pharmacist: "carry on as usual" would be a dose for someone the gate stops.
    talk.ask("SafetyIntent", condition=UNKNOWN)
    keys = talk.ask("MissedDoseIntent").keys
    gated(keys)
    assert "missed" not in keys and "missed.gated" in keys, keys


def label_line_read_path(talk: Conversation) -> None:
    # U: I'm on zorbitrex.  U: it says elemental magnesium 300 mg.  U: is that enough?
    talk.ask("SafetyIntent", condition=UNKNOWN)
    keys = talk.ask("LabelLineIntent", line="elemental:elemental magnesium", amount="300", unit="mg:milligrams").keys
    assert not DOSE_FIGURES & set(keys), keys  # how labels work, no verdict
    gated(talk.ask("DoseIntent").keys)  # the amount read out, weighed through the gate


def asked_amount_path(talk: Conversation) -> None:
    # U: remember I take glycinate.  A: ...how many milligrams?  U: 300, I'm on zorbitrex
    talk.ask("SetPreferenceIntent", form="glycinate:glycinate")
    keys = talk.ask("SetPreferenceIntent", amount="300", condition=UNKNOWN).keys
    assert any(k.startswith("gate.") for k in keys), keys


def wind_down_same_breath_path(talk: Conversation) -> None:
    # U: start my wind-down, oh and I'm on zorbitrex   ... U: next  (the dose step)
    talk.ask("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    talk.ask("SetBedtimeIntent", time="22:30")
    talk.ask("WindDownIntent", condition=UNKNOWN)
    gated(talk.ask("AMAZON.NextIntent").keys)


# The screen: a health statement the device did not hear (Alexa sent FallbackIntent, or nothing) is never a
# licence for a figure, because a session's first figure waits behind one yes/no question.


def unheard_then_yes_path(talk: Conversation) -> None:
    # U: I take zorbitrex (unheard: Fallback)  U: how much should I take?  A: a quick check...  U: yes
    talk.ask("AMAZON.FallbackIntent")
    talk.ask("DoseIntent")
    gated(talk.ask("AMAZON.YesIntent").keys)
    gated(talk.ask("DoseIntent", amount="300", unit="mg:milligrams").keys)  # and for the rest of the session


def screen_answered_with_a_mention_path(talk: Conversation) -> None:
    # U: is 300 mg okay?  A: a quick check...  U: I'm on zorbitrex
    assert talk.ask("DoseIntent", amount="300", unit="mg:milligrams").keys == ["screen.ask"]
    gated(talk.ask("SafetyIntent", condition=UNKNOWN).keys)
    gated(talk.ask("DoseIntent").keys)


def screen_answered_unclearly_path(talk: Conversation) -> None:
    # U: how much should I take?  A: a quick check...  U: um what do you mean (unplaced: Fallback)
    talk.ask("DoseIntent")
    gated(talk.ask("AMAZON.FallbackIntent").keys)
    # U: how much then?  -> the screen is still unanswered: asked again, never a figure
    assert not DOSE_FIGURES & set(talk.ask("DoseIntent").keys)


def screen_left_in_silence_path(talk: Conversation) -> None:
    # U: how much should I take?  A: a quick check...  (silence: the session ends)  U: (new session) how much?
    talk.ask("DoseIntent")
    talk.end("EXCEEDED_MAX_REPROMPTS")
    keys = talk.ask("DoseIntent").keys
    assert keys == ["screen.ask"], keys
    gated(talk.ask("AMAZON.YesIntent").keys)


def routine_screen_path(talk: Conversation) -> None:
    # The wind-down's dose step speaks the saved amount: only after a clear "no" this session.
    talk.ask("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    talk.ask("AMAZON.FallbackIntent")  # U: my gran's on zorbitrex, it's for her (unheard)
    talk.ask("WindDownIntent")
    talk.ask("SetBedtimeIntent", time="22:30")
    talk.ask("AMAZON.NextIntent")  # A: a quick check...
    keys = talk.ask("AMAZON.YesIntent").keys
    gated(keys)
    assert "routine.to_breathe" in keys, keys  # the routine still goes on to its breathing


def one_shot_then_a_new_session_path(talk: Conversation) -> None:
    # U: goodbye.  U: (one-shot) ask bedtime magnesium how long it takes, I'm on zorbitrex   A: ... ask your doctor.
    talk.ask("AMAZON.StopIntent")
    assert talk.ask("TimeToWorkIntent", condition=UNKNOWN).ended  # a one-shot ends; nothing about health is kept
    # U: (a new session) ask bedtime magnesium how much to take   A: a quick check...   U: yes
    assert talk.ask("DoseIntent").keys == ["screen.ask"]
    gated(talk.ask("AMAZON.YesIntent").keys)


SCREEN_PATHS: list[Callable[[Conversation], None]] = [
    unheard_then_yes_path, screen_answered_with_a_mention_path, screen_answered_unclearly_path,
    screen_left_in_silence_path, routine_screen_path, one_shot_then_a_new_session_path,
]

PATHS: list[Callable[[Conversation], None]] = [
    dose_path, same_breath_path, label_path, routine_path, saved_amount_path, follow_up_path, per_capsule_path,
    unreadable_age_path, unknown_symptom_path, day_amount_path, already_taken_path, follow_up_amount_path,
    label_follow_up_path, missed_night_path, label_line_read_path, asked_amount_path, wind_down_same_breath_path,
]


def conversation(settings: Settings, clock: Clock, locale: str = "en-US") -> Conversation:
    """A person who opened the skill to talk: every path below runs in one session (a one-shot ends after
    its answer, and the next session starts unscreened: `one_shot_then_a_new_session_path`)."""
    said: list[str] = []
    skill = build_skill(settings, rng=random.Random(7), on_say=said.append, services=Services(clock=clock, alexa_api=False))
    talk = Conversation(SkillRunner(skill), said, locale=locale)
    talk.launch()  # U: open bedtime magnesium
    return talk


@pytest.mark.parametrize("locale", sorted(MARKETS))
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_an_unrecognised_health_mention_gates_every_dose_path(settings: Settings, clock: Clock, path: Callable[[Conversation], None],
                                                              locale: str) -> None:
    path(conversation(settings, clock, locale))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_with_the_rule_broken_every_path_check_fails(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch, path: Callable[[Conversation], None]
) -> None:
    # The old behaviour: only a recognised condition, age or symptom counts; anything else is noise.
    monkeypatch.setattr(handler_base, "health_mention", parse_condition)
    monkeypatch.setattr(handler_base, "age_mention", lambda heard: None)
    monkeypatch.setattr(handler_base, "is_warning_sign", lambda symptom: symptom is not None and symptom not in MILD)
    with pytest.raises(AssertionError):
        path(conversation(settings, clock))


@pytest.mark.parametrize("locale", sorted(MARKETS))
@pytest.mark.parametrize("path", SCREEN_PATHS, ids=lambda p: p.__name__)
def test_nothing_unheard_leads_to_a_figure(settings: Settings, clock: Clock, path: Callable[[Conversation], None],
                                           locale: str) -> None:
    path(conversation(settings, clock, locale))


@pytest.mark.parametrize("path", SCREEN_PATHS, ids=lambda p: p.__name__)
def test_with_the_screen_skipped_every_screen_path_check_fails(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch, path: Callable[[Conversation], None]
) -> None:
    # The old behaviour: a figure is spoken as soon as it is asked for, unless a mention was heard.
    monkeypatch.setattr(speech, "FIGURE_KEYS", frozenset())
    with pytest.raises(AssertionError):
        path(conversation(settings, clock))
