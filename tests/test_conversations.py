"""Conversations with the skill, turn by turn, through real request envelopes and the real SDK."""
from __future__ import annotations

from tests.conversation import Conversation, numbers


def test_a_person_opens_the_skill_and_hears_a_short_welcome(talk: Conversation) -> None:
    # U: Alexa, open bedtime magnesium
    a = talk.launch()
    # A: Hi. I can tell you how magnesium may help sleep ... What would you like to know?
    assert a.said("launch") and not a.ended
    assert a.words <= 30 and a.reprompt


def test_why_then_yes_gives_the_details_then_no_says_good_night(talk: Conversation) -> None:
    talk.launch()
    # U: why does magnesium help me sleep
    a = talk.ask("WhyMagnesiumIntent")
    assert a.said("why", "offer_more") and a.words <= 40
    # U: yes
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("why.more") and "300" in a.speech and not a.ended
    # U: no
    a = talk.ask("AMAZON.NoIntent")
    assert a.said("no_more") and a.ended


def test_go_on_after_an_offer_of_details_gives_them(talk: Conversation) -> None:
    # U: why does magnesium help me sleep   A: ... Want the details?
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    assert talk.ask("WhyMagnesiumIntent").said("offer_more")
    # U: keep going   (Alexa hears ResumeIntent)
    a = talk.ask("AMAZON.ResumeIntent")
    assert a.said("why.more") and not a.ended
    # U: go on        (nothing more is offered now: no details are invented)
    assert not talk.ask("AMAZON.ResumeIntent").said("why.more")


def test_yes_with_nothing_offered_does_not_invent_details(talk: Conversation) -> None:
    talk.launch()
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("nothing_more") and not a.ended


def test_how_much_gives_the_range_the_limit_and_the_disclaimer_then_good_night(talk: Conversation) -> None:
    # U: (one-shot) how much magnesium should I take   A: a quick check...   U: no
    a = talk.ask_screened("DoseIntent", amount=None, unit=None, form=None, condition=None)
    # A: 200 to 400, the 350 limit, not a substitute for medical advice. (The screen just named the groups.)
    assert a.said("dose.general", "disclaimer") and not a.said("offer_more")
    assert {200, 400, 350} <= set(numbers(a.speech))
    assert "not a substitute for medical advice" in a.speech
    assert a.ended and not a.speech.rstrip().endswith("?")


def test_in_a_conversation_the_dose_answer_offers_its_details(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium
    a = talk.ask_screened("DoseIntent")  # U: how much should I take?  ...  U: no
    assert a.said("dose.general", "disclaimer", "offer_more") and not a.ended
    # U: yes  -> the deficiency range, the 800 mg line, elemental labels, 2-4 weeks
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("dose.general.more") and {600, 800} <= set(numbers(a.speech))


def test_a_thousand_milligrams_of_glycinate_is_about_140_of_magnesium(talk: Conversation) -> None:
    # U: is a thousand milligrams of magnesium glycinate okay
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask_screened("DoseIntent", amount="1000", unit="mg:milligrams", form="glycinate:magnesium glycinate")
    # A: the larger reading (1000 mg of magnesium) decides until the label says which: no number to take
    assert a.said("gate.over_800", "disclaimer", "label.which") and not a.said("dose.low")
    # U: it's the compound's weight
    a = talk.ask_screened("LabelLineIntent", line="compound:the compound")
    assert a.said("dose.converted", "dose.low", "disclaimer")
    assert 140 in numbers(a.speech)


def test_300_of_glycinate_is_never_called_too_little_on_a_guess(talk: Conversation) -> None:
    # U: is 300 mg of glycinate enough
    a = talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
    assert a.said("dose.everyday", "label.if_compound", "label.which") and not a.said("dose.low")
    # U: it says elemental magnesium
    a = talk.ask_screened("LabelLineIntent", line="elemental:elemental magnesium")
    assert a.said("dose.everyday") and not a.said("label.which")


def test_a_label_line_read_out_unasked_is_explained_and_weighed_when_asked(talk: Conversation) -> None:
    # U: it says elemental magnesium 900 mg   -> how labels work; no verdict was asked for, none is given
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    a = talk.ask_screened("LabelLineIntent", line="elemental:elemental magnesium", amount="900", unit="mg:milligrams")
    assert a.said("label.explain") and not any(k.startswith("dose.") for k in a.keys)
    # U: is that okay   -> 900 mg of magnesium itself: past the gate's line, whatever form the bottle is
    a = talk.ask_screened("DoseIntent")
    assert a.said("gate.over_800", "disclaimer") and 900 in numbers(a.speech)


def test_an_elemental_line_is_never_shrunk_by_the_form_talked_about_before(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("FormInfoIntent", form="glycinate:glycinate")
    talk.ask("ElementalIntent", amount="1000", unit="mg:milligrams", form="glycinate:glycinate")
    # U: the label says elemental magnesium 1000 mg   -> 1000 mg of magnesium, not 14 percent of it
    talk.ask_screened("LabelLineIntent", line="elemental:elemental magnesium", amount="1000", unit="mg:milligrams")
    a = talk.ask_screened("DoseIntent")
    assert a.said("gate.over_800") and 1000 in numbers(a.speech)


def test_grams_are_converted(talk: Conversation) -> None:
    # U: is half a gram too much  (Alexa sends 0.5 for "half")
    a = talk.ask_screened("DoseIntent", amount="0.5", unit="g:grams")
    assert a.said("dose.between", "dose.upper_limit") and 500 in numbers(a.speech)


def test_an_everyday_amount_is_in_range_and_carries_the_disclaimer(talk: Conversation) -> None:
    a = talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams")
    assert a.said("dose.everyday", "disclaimer") and a.ended
    assert not a.said("dose.upper_limit")


def test_six_hundred_is_for_serious_deficiency_and_passes_the_supplement_limit(talk: Conversation) -> None:
    a = talk.ask_screened("DoseIntent", amount="600", unit="mg:milligrams")
    assert a.said("dose.deficient", "dose.upper_limit", "disclaimer")


def test_nonsense_amounts_get_a_clear_spoken_answer(talk: Conversation) -> None:
    for amount in ("0", "-5", "50000", "?", "lots"):
        a = talk.ask_screened("DoseIntent", amount=amount, unit="mg:milligrams")
        assert a.said("dose.invalid") and not a.ended and a.reprompt, amount


def test_which_form_for_cramps_then_about_glycinate(talk: Conversation) -> None:
    a = talk.ask("FormAdviceIntent", need="cramps:leg cramps")
    assert a.said("form.advice.cramps") and "glycinate" in a.speech
    a = talk.ask("FormInfoIntent", form="glycinate:bisglycinate")
    assert a.said("form.info.glycinate", "offer_more")
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("form.info.glycinate.more") and {250, 4} <= set(numbers(a.speech))


def test_a_form_heard_but_not_resolved_is_matched_by_its_name(talk: Conversation) -> None:
    a = talk.ask("FormInfoIntent", form="magnesium l threonate")
    assert a.said("form.info.threonate")


def test_an_unknown_form_is_named_back_safely(talk: Conversation) -> None:
    a = talk.ask("FormInfoIntent", form="<speak>unobtainium & co</speak>")
    # The form slot never reads back what it did not recognise.
    assert a.said("form.unknown") and "unobtainium" not in a.ssml and not a.ended


def test_each_mechanism_has_its_study_figures_in_the_details(talk: Conversation) -> None:
    expected = {"melatonin": {500, 8}, "cortisol": {350, 24}, "cramps": {300, 4, 86}}
    for mechanism, figures in expected.items():
        talk.ask("MechanismIntent", mechanism=f"{mechanism}:{mechanism}")
        a = talk.ask("AMAZON.YesIntent")
        assert a.said(f"mechanism.{mechanism}.more") and figures <= set(numbers(a.speech)), mechanism


def test_mechanism_without_a_slot_offers_the_four(talk: Conversation) -> None:
    a = talk.ask("MechanismIntent", mechanism=None)
    assert a.said("mechanism.menu") and not a.ended
    a = talk.ask("MechanismIntent", mechanism="the brake")
    assert a.said("mechanism.gaba")


def test_the_other_topics_answer_with_their_facts(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    checks = {
        "InsomniaSignsIntent": ("insomnia", {30, 3}),
        "DietIntent": ("diet", set()),
        "TimeToWorkIntent": ("time_to_work", {2, 4}),
        "WhoItHelpsIntent": ("who_it_helps", set()),
        "VitaminDIntent": ("vitamin_d", set()),
        "SleepFactsIntent": ("sleep_facts", {64, 2024}),
    }
    for intent, (key, figures) in checks.items():
        a = talk.ask(intent)
        assert a.said(key) and figures <= set(numbers(a.speech)) and not a.ended, intent


def test_repeat_says_the_last_answer_again_word_for_word(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    first = talk.ask("TimeToWorkIntent")
    again = talk.ask("AMAZON.RepeatIntent")
    assert again.ssml == first.ssml and not again.ended


def test_repeat_renders_again_from_content_and_refuses_anything_else(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("TimeToWorkIntent")
    kept = talk.attributes["last_said"]
    assert "<speak>" not in str(kept)  # keys, wordings and values are kept, never SSML
    tampered = [
        {"ssml": "<speak><audio src='https://example.invalid/a.mp3'/></speak>"},
        {**kept, "lines": [["no.such.key", 0, {}]]},
        {**kept, "lines": [["time_to_work", 99, {}]]},
        {**kept, "lines": [["time_to_work", 0, {"extra": "value"}]]},
        {**kept, "ask": None},
    ]
    for stored in tampered:
        talk.attributes["last_said"] = stored
        assert talk.ask("AMAZON.RepeatIntent").said("nothing_to_repeat"), stored


def test_a_value_said_back_on_repeat_is_still_escaped(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams")
    talk.attributes["last_said"]["lines"][0][2] = {"amount": "<audio src='x'/> & co"}
    a = talk.ask("AMAZON.RepeatIntent")
    assert a.said("dose.everyday") and "&lt;audio" in a.ssml and "<audio" not in a.ssml


def test_stop_cancel_and_home_end_at_once_quietly(talk: Conversation) -> None:
    for intent in ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent"):
        talk.launch()
        a = talk.ask(intent)
        assert a.said("goodbye") and a.ended and a.words <= 4 and "card" not in a.body


def test_help_ends_with_a_question_and_fallback_says_what_it_can_do(talk: Conversation) -> None:
    a = talk.ask("AMAZON.HelpIntent")
    assert a.said("help") and a.speech.endswith("?") and a.reprompt
    a = talk.ask("AMAZON.FallbackIntent")
    assert a.said("fallback") and not a.ended


def test_an_intent_the_skill_does_not_know_still_gets_an_answer(talk: Conversation) -> None:
    a = talk.ask("SomeFutureIntent")
    assert a.said("fallback") and not a.ended


def test_session_ended_says_nothing(talk: Conversation) -> None:
    talk.launch()
    a = talk.end("EXCEEDED_MAX_REPROMPTS")
    assert "outputSpeech" not in a.body and a.keys == []


def test_start_over_forgets_the_thread_but_not_a_health_mention(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    talk.ask("FormInfoIntent", form="glycinate:glycinate")
    talk.ask("SafetyIntent", condition="kidney:kidney disease")
    a = talk.ask("AMAZON.StartOverIntent")
    assert a.said("start_over") and talk.attributes.get("topic") is None
    # The gate fails closed for the rest of the session, start over or not.
    assert talk.attributes["conditions"] == ["kidney"]
    assert talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams").said("gate.kidney")


def test_every_answer_shows_a_card_in_the_alexa_app(talk: Conversation) -> None:
    a = talk.ask("VitaminDIntent")
    card = a.body["card"]
    assert card["type"] == "Simple" and card["title"].startswith("Bedtime Magnesium") and "D3" in card["content"]
    assert "Anything else" not in card["content"]


def test_the_wind_down_begins_by_asking_for_a_bedtime(talk: Conversation) -> None:
    a = talk.ask("WindDownIntent")
    assert a.said("routine.ask_bedtime") and not a.ended and a.reprompt


def test_a_complete_answer_to_a_one_shot_ends_without_asking_for_more(talk: Conversation) -> None:
    # U: (one-shot) ask bedtime magnesium how long it takes to work   A: two to four weeks... (and nothing after)
    a = talk.ask("TimeToWorkIntent")
    assert a.said("time_to_work") and a.ended and not a.said("anything_else")
    assert not a.speech.rstrip().endswith("?")


def test_in_a_conversation_the_person_opened_a_complete_answer_asks_what_next(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium
    a = talk.ask("TimeToWorkIntent")  # U: how long does it take to work?
    assert a.said("time_to_work", "anything_else") and not a.ended


def test_a_health_statement_said_alone_is_answered_and_the_next_session_is_screened(talk: Conversation) -> None:
    # U: (one-shot) I take warfarin   A: ...ask your pharmacist or doctor first.  (a complete answer: the end)
    a = talk.ask("SafetyIntent", condition="medicines:warfarin")
    assert a.said("safety.medicines") and a.ended
    # U: (a new session) how much should I take?   A: a quick check...   U: yes, warfarin   A: the gate's words
    assert talk.ask("DoseIntent").keys == ["screen.ask"]
    assert talk.ask("AMAZON.YesIntent").said("screen.yes")


def test_in_a_conversation_a_health_statement_gates_what_follows(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium
    assert not talk.ask("SafetyIntent", condition="medicines:warfarin").ended  # U: I take warfarin
    a = talk.ask("DoseIntent")  # U: how much should I take?   -> the gate's words: no figure, no screen needed
    assert a.said("gate.medicines") and not a.said("screen.ask")


def test_what_the_device_could_not_place_still_names_the_doctor_or_pharmacist(talk: Conversation) -> None:
    # U: i'm on zorbitrex for my thing   (the device could not place it: Fallback)
    a = talk.ask("AMAZON.FallbackIntent")
    # A: I didn't catch that. If it was about your health or a medicine, please ask your doctor or
    #    pharmacist before taking magnesium. I can explain...
    assert a.said("fallback.unheard", "fallback") and "doctor or pharmacist" in a.speech and not a.ended


def test_more_than_800_already_taken_holds_for_the_rest_of_the_conversation(talk: Conversation) -> None:
    talk.launch()  # U: open bedtime magnesium
    # U: I already take 1000 mg of magnesium a day   A: above 800: only with a doctor's guidance
    assert talk.ask_screened("DoseIntent", amount="1000", unit="mg:milligrams").said("gate.over_800")
    # U: can I take another 200 tonight?   -> 1200 in the day: the gate's words again, never "carry on as usual"
    a = talk.ask("MissedDoseIntent", amount="200")
    assert a.said("gate.over_800", "missed.too_much") and not a.said("missed") and "1200" in a.speech


def test_okay_to_the_bedtime_question_asks_again_rather_than_dropping_the_routine(talk: Conversation) -> None:
    assert talk.ask("WindDownIntent").said("routine.ask_bedtime")  # A: what time do you usually go to bed?
    a = talk.ask("AMAZON.YesIntent")  # U: okay
    assert a.said("routine.bedtime_unclear") and not a.ended
    assert talk.ask("SetBedtimeIntent", time="22:30").said("routine.bedtime_saved", "routine.checkin")


def test_what_about_a_symptom_or_a_mechanism_answers_that_subject(talk: Conversation) -> None:
    talk.launch()
    # U: what are the side effects   A: ... (the general answer)
    assert talk.ask("SideEffectsIntent").said("side_effects.general")
    # U: what about the runs   -> the answer about a complaining stomach, never a dose
    a = talk.ask("WhatAboutIntent", symptom="diarrhoea:the runs")
    assert a.said("side_effects.stomach") and not any(k.startswith("dose.") for k in a.keys)
    # U: and the twitching   -> a symptom the skill does not know is a warning sign (fail closed)
    assert talk.ask("WhatAboutIntent", symptom="twitching").said("symptom.warning")
    # U: and what about cortisol
    assert talk.ask("WhatAboutIntent", mechanism="cortisol:cortisol").said("mechanism.cortisol")


def test_what_about_a_form_after_a_dose_answer_still_continues_the_dose(talk: Conversation) -> None:
    # A mechanism or symptom slot left empty changes nothing: "and citrate?" after a dose is a dose question.
    talk.launch()
    talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams")
    a = talk.ask("WhatAboutIntent", form="citrate:citrate")
    assert not a.said("side_effects.general") and not any(k.startswith("mechanism.") for k in a.keys)
    assert any(k.startswith(("dose.", "gate.", "elemental.", "screen.")) for k in a.keys), a.keys


def test_what_elemental_means_on_a_label_gets_how_to_read_a_label_from_either_intent(talk: Conversation) -> None:
    # U: what does elemental magnesium mean on the label   (Alexa may hear ElementalIntent or LabelLineIntent)
    talk.launch()
    assert talk.ask("ElementalIntent").said("label.explain")
    assert talk.ask("LabelLineIntent", line="elemental:elemental magnesium").said("label.explain")
    # U: how much magnesium is in threonate   -> that form's share, not the lesson
    assert talk.ask("ElementalIntent", form="threonate:threonate").said("elemental.share")
