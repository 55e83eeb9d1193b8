"""The safety gate: every dose answer passes it, in every path. A bug here is worse than a crash."""
from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings, strategies as st

from skill.builder import build_skill
from skill.knowledge import Condition, Gate, Tier, amount_for_the_day, assess_dose
from skill.knowledge.forms import Form
from skill.runtime import SkillRunner
from skill.settings import Settings
from tests.conversation import Conversation, numbers

DOSE_KEYS = {"dose.low", "dose.everyday", "dose.between", "dose.deficient", "dose.general", "dose.converted",
             "elemental.converted"}


@pytest.mark.parametrize(
    ("condition", "gate"),
    [("kidney:kidney disease", "gate.kidney"), ("pregnancy:pregnant", "gate.pregnancy"),
     ("breastfeeding:nursing", "gate.pregnancy"), ("child:my son", "gate.child"),
     ("medicines:blood pressure medicine", "gate.medicines"), ("antibiotics:doxycycline", "gate.medicines"),
     ("ppi:omeprazole", "gate.medicines")],
)
def test_a_condition_in_the_question_turns_the_dose_into_ask_your_doctor(
    talk: Conversation, condition: str, gate: str
) -> None:
    # U: how much should I take if I have <condition>   /   is 300 mg okay, I'm <condition>
    for amount in (None, "300"):
        a = talk.ask_screened("DoseIntent", amount=amount, unit="mg:milligrams" if amount else None, condition=condition)
        assert a.said(gate, "disclaimer") and not DOSE_KEYS & set(a.keys)
        assert "doctor" in a.speech or "pharmacist" in a.speech


def test_a_condition_said_earlier_gates_every_later_dose_answer_in_the_session(talk: Conversation) -> None:
    # U: can I take magnesium if I'm pregnant
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask("SafetyIntent", condition="pregnancy:pregnant")
    assert a.said("safety.pregnancy")
    # U: how much should I take            -> still "ask your doctor"
    assert talk.ask_screened("DoseIntent").said("gate.pregnancy")
    # U: is 250 milligrams okay            -> still
    assert talk.ask_screened("DoseIntent", amount="250", unit="mg:milligrams").said("gate.pregnancy")
    # U: how much magnesium is in 1000 mg of glycinate -> still
    a = talk.ask("ElementalIntent", amount="1000", unit="mg:milligrams", form="glycinate:glycinate")
    assert a.said("gate.pregnancy") and not DOSE_KEYS & set(a.keys)
    # U: start my wind-down / ten thirty / next  -> the routine's dose step is gated too
    talk.ask("WindDownIntent")
    talk.ask("SetBedtimeIntent", time="22:30")
    a = talk.ask_screened("AMAZON.NextIntent")
    assert a.said("gate.pregnancy") and not any(k.startswith("routine.dose") for k in a.keys)


def test_a_condition_is_forgotten_when_the_session_ends_and_never_persisted(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("SafetyIntent", condition="kidney:kidney disease")
    assert talk.attributes["conditions"] == ["kidney"]
    talk.ask("AMAZON.StopIntent")
    assert talk.attributes == {}
    assert talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams").said("dose.everyday")


def test_more_than_800_mg_goes_to_a_doctor_whatever_the_path(talk: Conversation) -> None:
    a = talk.ask_screened("DoseIntent", amount="1200", unit="mg:milligrams")
    assert a.said("gate.over_800", "disclaimer") and 1200 in [int(x) for x in a.speech.split() if x.isdigit()]
    a = talk.ask_screened("DoseIntent", amount="1.5", unit="g:grams")
    assert a.said("gate.over_800")
    # 2000 mg of oxide holds about 1200 mg of magnesium
    a = talk.ask("ElementalIntent", amount="2000", unit="mg:milligrams", form="oxide:magnesium oxide")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_a_label_over_800_mg_with_no_form_is_read_as_magnesium_and_gated(talk: Conversation) -> None:
    # U: my supplement has 1000 mg of magnesium in it   -> the larger reading: 1000 mg of magnesium
    a = talk.ask("ElementalIntent", amount="1000", unit="mg:milligrams")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)
    # U: it says 1000 but also 140, which counts?      -> a bare number may be either line: the lesson
    assert talk.ask("ElementalIntent", amount="1000").said("elemental.explain")
    # U: my label says 300 mg                          -> under 800 either way: the lesson too
    assert talk.ask("ElementalIntent", amount="300", unit="mg:milligrams").said("elemental.explain")


def test_the_form_asked_about_stays_for_the_figure_on_the_label(talk: Conversation) -> None:
    # U: how much elemental magnesium is in glycinate   -> glycinate's own share, about 14 percent
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask("ElementalIntent", form="glycinate:glycinate")
    assert a.said("elemental.share") and "14 percent" in a.speech
    # U: mine says 500 milligrams on the front          -> 500 mg of glycinate holds about 70 mg
    a = talk.ask("ElementalIntent", amount="500", unit="mg:milligrams")
    assert a.said("elemental.converted") and "70" in a.speech
    # U: and taurate?                                   -> the same 500 mg, as taurate: about 45 mg
    a = talk.ask_screened("WhatAboutIntent", form="taurate:taurate")
    assert a.said("elemental.converted") and "45" in a.speech and not DOSE_KEYS - {"elemental.converted"} & set(a.keys)


def test_a_count_after_a_label_question_counts_what_was_just_asked_about(talk: Conversation) -> None:
    # U: how much magnesium is in 1000 mg of glycinate   -> about 140 mg
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask("ElementalIntent", amount="1000", unit="mg:milligrams", form="glycinate:glycinate").said(
        "elemental.converted")
    # U: so can I take 7 of them   -> 7000 mg on the label, no dose: the gate, not "what does each hold?"
    a = talk.ask_screened("DoseIntent", count="7")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys) and not a.said("dose.per_capsule")


def test_how_often_said_after_an_amount_is_weighed_for_the_day(talk: Conversation) -> None:
    # U: is 500 mg of magnesium okay
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="500", unit="mg:milligrams")
    # U: and if I took it twice a day   -> 1000 mg a day: the gate, no tier
    a = talk.ask_screened("DoseIntent", times="two:twice")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_a_lone_second_amount_is_the_amount(talk: Conversation) -> None:
    # U: okay and is 200 enough   (Alexa put 200 in or_amount, with no first amount)  -> judged as 200 mg
    assert talk.ask_screened("DoseIntent", or_amount="200").said("dose.everyday")
    # U: is a gram and a half okay   (a gram, and a half more)  -> 1500 mg: the gate
    assert talk.ask_screened("DoseIntent", unit="g:gram", more_amount="0.5").said("gate.over_800")


def test_a_gram_said_after_a_smaller_amount_is_weighed_not_the_amount_before(talk: Conversation) -> None:
    # U: is 200 mg okay
    assert talk.ask_screened("DoseIntent", amount="200", unit="mg:milligrams").said("dose.everyday")
    # U: is a gram too much   (a unit said alone: one gram)  -> the gate, not the 200 mg answer again
    a = talk.ask_screened("DoseIntent", unit="g:gram")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_another_adult_named_without_a_health_word_gets_the_adult_answer(talk: Conversation) -> None:
    # U: is 400 mg okay
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask_screened("DoseIntent", amount="400", unit="mg:milligrams").said("dose.everyday")
    # U: what about for my husband   (the words land in the condition slot, unresolved)  -> the same answer
    assert talk.ask_screened("WhatAboutIntent", condition="my husband").said("dose.everyday")
    # U: and for my son   -> a child (S4): the gate, for the rest of the session
    assert talk.ask_screened("WhatAboutIntent", condition="child:my son").said("gate.child")
    # U: and for my husband again   -> still gated: the session heard a child
    assert not DOSE_KEYS & set(talk.ask_screened("WhatAboutIntent", condition="my husband").keys)


def test_what_an_adult_does_is_no_health_mention_but_a_blood_test_is(talk: Conversation) -> None:
    # U: I'm a marathon runner, is 400 mg okay?   (the words land in the condition slot, unresolved)
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask_screened("DoseIntent", amount="400", unit="mg:milligrams", condition="a marathon runner").said("dose.everyday")
    # U: for my sister, she's forty   (SafetyIntent with an adult's age, right after a dose answer)  -> the dose again
    assert talk.ask("SafetyIntent", age="40").said("dose.everyday")
    # U: oh and my last blood test was off   -> a health mention: the gate, for the rest of the session
    assert not DOSE_KEYS & set(talk.ask_screened("WhatAboutIntent", condition="other:blood test").keys)
    assert not DOSE_KEYS & set(talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams").keys)


def test_another_amount_later_in_the_day_is_added_to_the_one_before(talk: Conversation) -> None:
    # U: I take 500 in the morning
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="500", unit="mg:milligrams")
    # U: can I take another 400 at night   -> 900 mg a day: the gate
    a = talk.ask_screened("DoseIntent", more_amount="400")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_another_one_is_one_more_of_what_was_said_before(talk: Conversation) -> None:
    # U: I take two of the 400s   -> 800 mg a day, on the line
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask_screened("DoseIntent", count="2", amount="400", unit="mg:milligrams").said("dose.deficient")
    # U: and another one in the morning   (Alexa sends more_amount "1")  -> 1200 mg a day: the gate
    a = talk.ask_screened("DoseIntent", more_amount="1")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_how_much_actual_magnesium_is_that_converts_the_label_just_read(talk: Conversation) -> None:
    # U: my label says 1000 mg magnesium glycinate   U: how much actual magnesium is that  -> 1000 mg converted
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("ElementalIntent", amount="1000", unit="mg:milligrams", form="glycinate:glycinate")
    assert talk.ask("ElementalIntent").said("elemental.converted")


def test_is_it_safe_for_her_answers_for_what_was_said_about_her(talk: Conversation) -> None:
    # U: my mom's on dialysis   U: what's glycinate   U: is magnesium safe for her  -> the kidney answer
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("SafetyIntent", condition="kidney:dialysis")
    talk.ask("FormInfoIntent", form="glycinate:glycinate")
    assert talk.ask("SafetyIntent").said("safety.kidney")


def test_65_or_over_is_treated_like_the_groups_that_ask_a_doctor(talk: Conversation) -> None:
    # U: I'm seventy two, how much glycinate is right for someone my age?  -> general information yes, the dose
    # from their doctor or pharmacist (S7)
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask("DoseIntent", age="72", form="glycinate:glycinate", condition="someone my age")
    assert a.said("gate.older", "disclaimer") and not DOSE_KEYS & set(a.keys)
    # U: and for my dad, he's eighty   -> the same, said in words into the condition slot
    assert talk.ask("SafetyIntent", condition="he's eighty").said("gate.older")
    talk.ask("AMAZON.StopIntent")
    # U: (a new session) I'm 81   -> said on its own: what 65 or over means here
    assert talk.ask("SafetyIntent", age="81").said("safety.older")


def test_an_adult_under_65_asking_for_their_age_gets_the_adult_answer(talk: Conversation) -> None:
    # U: I'm fifty two, how much glycinate is right for someone my age?  ("someone my age" lands in condition)
    a = talk.ask_screened("DoseIntent", age="52", form="glycinate:glycinate", condition="someone my age")
    assert a.said("dose.general") and not any(k.startswith("gate.") for k in a.keys)


def test_an_amount_already_taken_counts_towards_more_later(talk: Conversation) -> None:
    # U: I already took six hundred this morning   A: don't double up...
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask_screened("MissedDoseIntent", amount="600").said("missed")
    # U: would three hundred more tonight be alright   -> 900 mg today: the gate
    a = talk.ask_screened("DoseIntent", more_amount="300")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_capsules_counted_after_a_per_capsule_label_are_weighed_when_past_the_line(talk: Conversation) -> None:
    # U: my bottle says five hundred milligrams per capsule   U: is four capsules okay   -> 2000 mg: the gate
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="500", unit="mg:milligrams")
    a = talk.ask_screened("DoseIntent", count="4")
    assert a.said("gate.over_800") and not a.said("dose.per_capsule")
    # Under the line the skill still asks what one holds rather than guessing.
    talk.ask_screened("DoseIntent", amount="100", unit="mg:milligrams")
    assert talk.ask_screened("DoseIntent", count="2").said("dose.per_capsule")


def test_several_conditions_are_all_named(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("SafetyIntent", condition="kidney:kidney disease")
    a = talk.ask_screened("DoseIntent", amount="900", unit="mg:milligrams", condition="medicines:pills")
    assert a.said("gate.kidney", "gate.medicines", "gate.over_800")


amounts = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**9, 10**9))
conditions = st.sets(st.sampled_from(list(Condition)), min_size=1)
forms = st.one_of(st.none(), st.sampled_from(list(Form)))


@settings(max_examples=300, deadline=None)
@given(amount=amounts, form=forms, conds=conditions)
def test_with_any_condition_no_amount_ever_gets_a_tier(amount: float | None, form: Form | None, conds: set) -> None:
    advice = assess_dose(None if amount is None else float(amount), form, conds)
    assert advice.tier is Tier.GATED and advice.gates


def test_a_days_amounts_said_together_are_judged_together(talk: Conversation) -> None:
    # U: can I take 500 mg twice a day  -> 1000 mg a day: over 800, a doctor's call
    a = talk.ask_screened("DoseIntent", amount="500", unit="mg:milligrams", times="two:twice")
    assert a.said("gate.over_800") and 1000 in numbers(a.speech) and not DOSE_KEYS & set(a.keys)
    # U: I take 600 in the morning and 600 at night  -> 1200
    a = talk.ask_screened("DoseIntent", amount="600", unit="mg:milligrams", more_amount="600")
    assert a.said("gate.over_800") and 1200 in numbers(a.speech)
    # U: should I take 800 or 1000  -> judged by the larger, never by its safer half
    a = talk.ask_screened("DoseIntent", amount="800", or_amount="1000")
    assert a.said("gate.over_800") and 1000 in numbers(a.speech)
    # U: I take four 250 mg capsules  -> 1000
    a = talk.ask_screened("DoseIntent", count="4", amount="250", unit="mg:milligrams")
    assert a.said("gate.over_800") and 1000 in numbers(a.speech)
    # U: 200 in the morning and 200 at night  -> 400 a day, within the everyday range
    a = talk.ask_screened("DoseIntent", amount="200", unit="mg:milligrams", more_amount="200")
    assert a.said("dose.everyday") and 400 in numbers(a.speech)


def test_an_unreadable_second_amount_is_asked_about_not_ignored(talk: Conversation) -> None:
    # U: 300 in the morning and [unclear] at night  -> Alexa sends "?": no figure is judged on half of it
    a = talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams", more_amount="?")
    assert a.said("dose.invalid") and not DOSE_KEYS & set(a.keys)


amounts_said = st.floats(min_value=1, max_value=5000)


@given(first=amounts_said, second=amounts_said, count=st.none() | st.integers(1, 10), times=st.integers(1, 4))
def test_the_days_amount_is_never_less_than_any_part_said(first: float, second: float, count: int | None,
                                                          times: int) -> None:
    together = amount_for_the_day(first, count=count, times=times, also_mg=second)
    either = amount_for_the_day(first, count=count, times=times, or_mg=second)
    assert together is not None and either is not None
    assert together >= max(first, second) and either >= max(first, second)
    assert either == max(first * (count or 1) * times, second)


@settings(max_examples=300, deadline=None)
@given(amount=st.floats(min_value=800.001, max_value=20_000), form=forms)
def test_over_800_mg_of_magnesium_always_gates(amount: float, form: Form | None) -> None:
    advice = assess_dose(amount, form)
    elemental = advice.elemental_mg
    assert elemental is not None
    assert (Gate.OVER_800 in advice.gates) == (elemental > 800)
    if elemental > 800:
        assert advice.tier is Tier.GATED


@pytest.mark.parametrize("age", ["15", "8", "17"])
def test_an_age_under_18_said_with_the_dose_question_sends_to_a_doctor(talk: Conversation, age: str) -> None:
    # U: I'm 15, can I take 400 milligrams?
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask_screened("DoseIntent", age=age, amount="400", unit="mg:milligrams")
    assert a.said("gate.child", "disclaimer") and not DOSE_KEYS & set(a.keys)
    # U: how much should I take then?      -> still a child, for the rest of the session
    assert talk.ask_screened("DoseIntent").said("gate.child")


def test_an_adult_age_is_not_a_health_mention(talk: Conversation) -> None:
    # U: I'm 45, how much should I take?
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask_screened("DoseIntent", age="45").said("dose.general", "disclaimer")
    assert talk.attributes.get("conditions") in (None, [])


def test_an_age_alexa_could_not_read_gates_like_any_unrecognised_mention(talk: Conversation) -> None:
    # Alexa sends "?" for a number it heard but could not read: fail closed.
    a = talk.ask_screened("DoseIntent", age="?", amount="300", unit="mg:milligrams")
    assert a.said("gate.other") and not DOSE_KEYS & set(a.keys)


def test_an_age_beside_a_follow_up_or_a_safety_question_gates_too(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent")
    # U: what about for a 12 year old?
    a = talk.ask_screened("WhatAboutIntent", age="12")
    assert a.said("gate.child") and not DOSE_KEYS & set(a.keys)
    # U: and is it safe for him at all?    -> right after a dose answer, still the dose question
    assert talk.ask("SafetyIntent", age="12").said("gate.child")


def test_an_age_in_a_safety_question_gets_the_childrens_answer(talk: Conversation) -> None:
    # U: is magnesium safe for a 10 year old?
    assert talk.ask("SafetyIntent", age="10").said("safety.child")


def test_a_count_too_big_for_capsules_is_heard_as_the_amount(talk: Conversation) -> None:
    # U: can I take 900?  (heard as a count)   -> the amount, so the 800 mg gate sees it
    a = talk.ask_screened("DoseIntent", count="900")
    assert a.said("gate.over_800") and not DOSE_KEYS & set(a.keys)


def test_a_warning_sign_said_with_a_dose_question_gets_stop_and_advice_and_gates_the_session(talk: Conversation) -> None:
    # U: I feel dizzy since I took it, is 400 mg too much?
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask_screened("DoseIntent", symptom="dizziness:dizzy", amount="400", unit="mg:milligrams")
    assert a.said("symptom.warning") and not DOSE_KEYS & set(a.keys)
    # U: so how much should I take?          -> no dose for the rest of the session
    a = talk.ask_screened("DoseIntent")
    assert a.said("gate.other") and not DOSE_KEYS & set(a.keys)


def test_a_symptom_the_skill_does_not_know_is_a_warning_sign_too(talk: Conversation) -> None:
    # U: I get tingly lips from it, how much should I take?   (ER_SUCCESS_NO_MATCH)
    a = talk.ask_screened("DoseIntent", symptom="tingly lips")
    assert a.said("symptom.warning") and not DOSE_KEYS & set(a.keys)


def test_a_complaining_stomach_with_a_dose_question_hears_take_less_not_a_number(talk: Conversation) -> None:
    a = talk.ask_screened("DoseIntent", symptom="stomach:upset stomach", amount="400", unit="mg:milligrams")
    assert a.said("side_effects.stomach") and not DOSE_KEYS & set(a.keys)
    # A complaining stomach is not a warning sign: a later dose question is answered.
    assert talk.ask_screened("DoseIntent").said("dose.general")


def test_a_condition_said_while_saving_an_amount_gates_it_at_once(talk: Conversation) -> None:
    # U: I'm pregnant, remember that I take 300 milligrams of glycinate
    a = talk.ask_screened("SetPreferenceIntent", condition="pregnancy:pregnant", amount="300", unit="mg:milligrams",
                 form="glycinate:glycinate")
    assert a.said("gate.pregnancy") and not DOSE_KEYS & set(a.keys)


def test_a_health_mention_beside_any_question_gates_the_rest_of_the_session(talk: Conversation) -> None:
    # U: I'm pregnant, which magnesium is best for sleep?
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask("FormAdviceIntent", need="falling_asleep:sleep", condition="pregnancy:pregnant")
    assert a.said("form.advice.falling_asleep", "gate.pregnancy")  # the answer, then the gate's words
    # U: and how much should I take?
    a = talk.ask_screened("DoseIntent")
    assert a.said("gate.pregnancy") and not DOSE_KEYS & set(a.keys)


def test_an_age_beside_a_sleepless_night_gates_a_later_dose(talk: Conversation) -> None:
    # U: I'm 15 and I can't sleep.
    assert talk.ask("SleeplessIntent", age="15").said("gate.child")
    # U: how much magnesium can I take?
    assert talk.ask_screened("DoseIntent").said("gate.child")


def test_a_mention_already_answered_is_not_repeated_on_every_answer(talk: Conversation) -> None:
    talk.ask("SafetyIntent", condition="kidney:kidney disease")
    # U: which form is best for cramps?   -- no new mention: no gate line added again
    a = talk.ask("FormAdviceIntent", need="cramps:cramps")
    assert not any(k.startswith("gate.") for k in a.keys)


# --- every follow-up amount is weighed as said --------------------------------------------------


@functools.cache
def _runner_and_log() -> tuple[SkillRunner, list[str]]:
    """One skill for the property below; each example is a fresh session (nothing is persisted)."""
    said: list[str] = []
    settings_ = Settings(_env_file=None, verify_signature=False, persistence="none", seed=7, alexa_api=False)  # type: ignore[call-arg]
    return SkillRunner(build_skill(settings_, on_say=said.append)), said


_SECOND_TURNS = st.one_of(
    st.integers(50, 2000).map(lambda mg: ({"amount": str(mg), "unit": "mg:milligrams"}, float(mg))),
    st.sampled_from([1, 2]).map(lambda g: ({"amount": str(g), "unit": "g:grams"}, g * 1000.0)),
    st.just(({"unit": "g:gram"}, 1000.0)),  # "is a gram too much"
    st.integers(50, 800).map(lambda mg: ({"or_amount": str(mg)}, float(mg))),  # a lone second amount
    st.integers(50, 800).map(lambda mg: ({"more_amount": str(mg)}, -float(mg))),  # "another <mg>": added (negative: see below)
)


@settings(max_examples=80, deadline=None)
@given(first=st.integers(50, 800), second=_SECOND_TURNS, intent=st.sampled_from(["DoseIntent", "WhatAboutIntent"]))
def test_a_follow_up_amount_is_weighed_as_said_never_as_the_one_before(first: int, second: tuple[dict, float],
                                                                        intent: str) -> None:
    runner, said = _runner_and_log()
    talk = Conversation(runner, said)
    talk.launch()  # U: open bedtime magnesium: a conversation, so the follow-up is in the same session
    # U: is <first> mg okay        then        U: is <second> okay / what about <second>
    talk.ask_screened("DoseIntent", amount=str(first), unit="mg:milligrams")
    slots, magnesium = second
    if magnesium < 0:  # "can I take another 400?" adds to the amount before it
        magnesium = first - magnesium
    a = talk.ask_screened("DoseIntent" if {"or_amount", "more_amount"} & set(slots) else intent, **slots)  # not WhatAbout's
    assert a.said("gate.over_800") == (magnesium > 800), (first, slots, a.keys)
    if magnesium > 800:
        assert not DOSE_KEYS & set(a.keys)
