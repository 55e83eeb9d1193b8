"""What people ask at night that the skill did not answer before: each as a short conversation."""
from __future__ import annotations

from tests.conversation import Conversation, numbers

# Content keys that carry a dose figure or range.
DOSE_FIGURES = {"dose.general", "dose.low", "dose.everyday", "dose.between", "dose.deficient", "dose.converted",
                "dose.upper_limit", "elemental.converted", "routine.dose.yours", "label.if_compound"}


def test_someone_who_cannot_sleep_is_offered_a_minute_of_breathing_not_a_dose(talk: Conversation) -> None:
    # U: ugh, can't sleep again
    a = talk.ask("SleeplessIntent")
    assert a.said("sleepless") and not DOSE_FIGURES & set(a.keys) and a.words <= 30 and not a.ended
    assert 'volume="soft"' in a.ssml
    # U: yes
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("routine.breathe", "routine.goodnight") and a.ended


def test_no_to_the_breathing_is_a_quiet_good_night(talk: Conversation) -> None:
    talk.ask("SleeplessIntent")
    a = talk.ask("AMAZON.NoIntent")
    assert a.said("no_more") and a.ended


def test_when_to_take_it_names_no_clock_time_as_a_finding(talk: Conversation) -> None:
    # U: how long before bed should I take magnesium
    a = talk.ask("TimingIntent")
    assert a.said("timing") and "don't name a best time" in a.speech and "habit" in a.speech
    assert not any(n for n in numbers(a.speech) if n in (15, 30, 45, 60, 90))
    # U: yes -> the one timing rule the sources give: spacing from medicines (T2)
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("timing.more") and {2, 4, 6} <= set(numbers(a.speech)) and "pharmacist" in a.speech


def test_a_missed_night_is_never_doubled(talk: Conversation) -> None:
    # U: I took my magnesium an hour ago, should I take another one
    a = talk.ask_screened("MissedDoseIntent")
    assert a.said("missed") and "Don't double" in a.speech and 350 in numbers(a.speech)
    assert not DOSE_FIGURES & set(a.keys)


def test_too_much_already_taken_gets_the_signs_to_watch_and_no_more_tonight(talk: Conversation) -> None:
    # U: I accidentally took 1200 mg  -> over 800: the doctor's line, the signs, and no more tonight
    a = talk.ask_screened("MissedDoseIntent", amount="1200", unit="mg:milligrams")
    assert a.said("gate.over_800", "missed.too_much", "disclaimer") and 1200 in numbers(a.speech)
    assert "medical advice" in a.speech and not DOSE_FIGURES & set(a.keys)
    # U: I took 300 mg by accident  -> the usual: don't double up
    a = talk.ask_screened("MissedDoseIntent", amount="300", unit="mg:milligrams")
    assert a.said("missed") and not a.said("gate.over_800")


def test_a_complaining_stomach_gets_lower_or_split(talk: Conversation) -> None:
    a = talk.ask("SideEffectsIntent", symptom="stomach:stomach ache")
    assert a.said("side_effects.stomach") and "split" in a.speech


def test_the_signs_of_too_much_mean_stop_and_get_advice(talk: Conversation) -> None:
    for heard in ("dizziness:dizzy", "weakness:weak", "heartbeat:palpitations", "nausea:sick"):
        a = talk.ask("SideEffectsIntent", symptom=heard)
        assert a.said("symptom.warning") and "stop" in a.speech and not DOSE_FIGURES & set(a.keys), heard


def test_a_symptom_beyond_the_listed_signs_is_a_warning_too(talk: Conversation) -> None:
    # U: I'm having trouble breathing after my magnesium  (S3 names signs "such as", not all of them)
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask("SideEffectsIntent", symptom="other:trouble breathing")
    assert a.said("symptom.warning") and not DOSE_FIGURES & set(a.keys)
    # ... and every dose answer after it is gated.
    assert not DOSE_FIGURES & set(talk.ask_screened("DoseIntent").keys)


def test_the_side_effects_answer_says_when_to_stop_even_when_no_symptom_was_heard(talk: Conversation) -> None:
    # U: I feel funny after the magnesium  (a report Alexa may send with no symptom at all)
    a = talk.ask("SideEffectsIntent")
    assert a.said("side_effects.general") and "stop and get medical advice" in a.speech


def test_a_symptom_the_skill_does_not_know_is_treated_as_a_warning(talk: Conversation) -> None:
    # U: I feel strange and tingly after taking it  (no id: Alexa could not resolve it)
    a = talk.ask("SideEffectsIntent", symptom="strange and tingly")
    assert a.said("symptom.warning")


def test_a_single_food_gets_what_the_sources_say_about_food_and_no_figure(talk: Conversation) -> None:
    # U: what foods have magnesium
    talk.ask("DietIntent")
    # U: what about bananas
    a = talk.ask("DietIntent", food="fruit:bananas")
    assert a.said("diet.food") and "don't go food by food" in a.speech and not numbers(a.speech)


def test_white_rice_gets_the_general_food_answer_which_speaks_to_it(talk: Conversation) -> None:
    # U: does white rice have magnesium  (A8 names refined rice: no food slot, the general answer)
    a = talk.ask("DietIntent")
    assert a.said("diet") and "Refined rice" in a.speech


def test_two_forms_compared(talk: Conversation) -> None:
    # U: glycinate or citrate?
    a = talk.ask("CompareFormsIntent", form="glycinate:glycinate", other_form="citrate:citrate")
    assert a.said("form.brief.glycinate", "form.brief.citrate", "compare.close") and 16 in numbers(a.speech)


def test_is_it_better_than_glycinate_compares_with_the_form_just_heard(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("FormInfoIntent", form="oxide:magnesium oxide")
    a = talk.ask("CompareFormsIntent", other_form="glycinate:glycinate")
    assert a.said("form.brief.oxide", "form.brief.glycinate")


def test_which_ones_gentler_after_a_comparison_picks_one_of_the_two(talk: Conversation) -> None:
    # U: what's the difference between citrate and oxide
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("CompareFormsIntent", form="citrate:citrate", other_form="oxide:oxide")
    # U: which one's gentler  -> of those two, citrate; then why (the stomach advice names oxide as harsher)
    a = talk.ask("FormAdviceIntent", need="sensitive_stomach:gentler")
    assert a.said("compare.pick", "form.advice.sensitive_stomach") and a.speech.startswith("Of those two, citrate")
    # U: which is better for sleep  -> asked again of the same two: the advice for sleep, and citrate is not in it
    b = talk.ask("FormAdviceIntent")
    assert b.said("form.advice.general") and not b.said("compare.pick")


def test_which_one_is_better_without_a_need_picks_for_sleep(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("CompareFormsIntent", form="taurate:taurate", other_form="glycinate:glycinate")
    a = talk.ask("CompareFormsIntent")  # U: so which one is better
    assert a.said("compare.pick") and a.speech.startswith("Of those two, glycinate")


def test_a_need_asked_after_some_other_answer_gets_the_advice_for_everyone(talk: Conversation) -> None:
    talk.ask("CompareFormsIntent", form="citrate:citrate", other_form="oxide:oxide")
    talk.ask("TimingIntent")
    a = talk.ask("FormAdviceIntent", need="sensitive_stomach:gentle")
    assert a.said("form.advice.sensitive_stomach") and not a.said("compare.pick")


def test_the_other_one_is_the_compared_form_not_just_described(talk: Conversation) -> None:
    # U: compare glycinate and taurate / U: tell me about glycinate / U: the other one
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("CompareFormsIntent", form="glycinate:glycinate", other_form="taurate:taurate")
    talk.ask("FormInfoIntent", form="glycinate:glycinate")
    a = talk.ask_screened("WhatAboutIntent")
    assert a.said("form.info.taurate")
    # U: and the other one  -> back to glycinate
    b = talk.ask("FormInfoIntent", form="the other one")
    assert b.said("form.info.glycinate")


def test_the_other_one_with_nothing_compared_is_not_guessed(talk: Conversation) -> None:
    talk.ask("FormInfoIntent", form="oxide:oxide")
    a = talk.ask_screened("WhatAboutIntent")
    assert a.said("fallback") and not any(k.startswith("form.info") for k in a.keys)


def test_where_that_comes_from_names_the_sources_of_the_last_answer(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent")  # the article's ranges (A9.1) and the NIH limit (S1)
    a = talk.ask("SourcesIntent")
    assert a.said("sources.article", "sources.nih") and "National Institutes of Health" in a.speech
    fresh = talk.ask("SourcesIntent")  # the sources answer itself cites nothing new
    assert fresh.said("anything_else")


def test_what_the_sources_do_not_cover_gets_an_honest_answer_and_a_pharmacist(talk: Conversation) -> None:
    for topic in ("zinc:zinc", "melatonin_pills:melatonin gummies", "alcohol:wine", "food:dinner"):
        a = talk.ask("UncoveredIntent", topic=topic)
        assert a.said("uncovered") and "don't cover" in a.speech and "pharmacist" in a.speech
        assert not DOSE_FIGURES & set(a.keys), topic


def test_what_about_for_kids_after_a_dose_answer_is_gated(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent")
    # U: what about for kids
    a = talk.ask("SafetyIntent", condition="child:kids")
    assert a.said("gate.child", "disclaimer") and not DOSE_FIGURES & set(a.keys)


def test_and_threonate_continues_the_question_just_asked(talk: Conversation) -> None:
    # After a dose answer, "and threonate?" is the dose question for threonate...
    talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    a = talk.ask_screened("WhatAboutIntent", form="threonate:threonate")
    assert a.said("dose.everyday", "label.which") and "threonate" in a.speech
    # ...after hearing about glycinate, it is about threonate; "tell me about" always is.
    talk.ask("FormInfoIntent", form="glycinate:glycinate")
    assert talk.ask_screened("WhatAboutIntent", form="threonate:threonate").said("form.info.threonate")
    talk.ask_screened("DoseIntent")
    assert talk.ask("FormInfoIntent", form="taurate:taurate").said("form.info.taurate")


def test_what_about_for_my_kids_continues_whatever_was_just_answered(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams")
    a = talk.ask_screened("WhatAboutIntent", condition="child:my kids")
    assert a.said("gate.child") and not DOSE_FIGURES & set(a.keys)
    talk.ask("FormAdviceIntent", need="falling_asleep:sleep")
    assert talk.ask_screened("WhatAboutIntent", need="cramps:cramps").said("form.advice.cramps")


def test_is_that_enough_and_a_bare_number_continue_the_dose_question(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams")
    # U: is that enough
    assert talk.ask_screened("DoseIntent").said("dose.everyday")
    talk.ask_screened("DoseIntent", form="citrate:citrate")
    # U: is 800 okay  (the form said a moment ago still counts; 800 is the larger reading)
    a = talk.ask_screened("DoseIntent", amount="800")
    assert a.said("dose.deficient", "label.which") and "citrate" in a.speech


def test_two_capsules_asks_what_each_holds_and_the_total_goes_through_the_gate(talk: Conversation) -> None:
    # U: so should I take two
    a = talk.ask_screened("DoseIntent", count="2")
    assert a.said("dose.per_capsule") and not DOSE_FIGURES & set(a.keys)
    # U: five hundred milligrams  -> 1000 mg a day: over 800, a doctor's call
    a = talk.ask_screened("DoseIntent", amount="500", unit="mg:milligrams")
    assert a.said("gate.over_800") and 1000 in numbers(a.speech)


def test_two_capsules_for_someone_on_medicines_is_gated_before_any_question(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("SafetyIntent", condition="medicines:lisinopril")
    a = talk.ask_screened("DoseIntent", count="2")
    assert a.said("gate.medicines") and not a.said("dose.per_capsule")


def test_a_yes_answers_only_the_last_question(talk: Conversation) -> None:
    talk.ask("ForgetMeIntent")  # "Should I forget everything?"
    talk.ask("WhyMagnesiumIntent")  # another answer: the forget question is no longer open
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("why.more") and not a.said("forget.done")
