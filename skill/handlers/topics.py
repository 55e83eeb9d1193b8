"""Questions about magnesium and sleep that the sources answer (or honestly do not)."""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.handlers.base import (AGE, AMOUNT, CONDITION, FOOD, FORM, HEALTH, MECHANISM, NEED, OTHER_FORM, SYMPTOM, TOPIC, UNIT, Handler,
                                 Intent, health, hear_condition, hear_symptom, slot)
from skill.handlers.dose import continue_dose, convert, dose_reply, gate_lines, read_dose
from skill.knowledge import Condition, Form, Gate, Mechanism, Uncovered, advise_form, assess_dose, parse_form, parse_need
from skill.services import Services
from skill.speech import Line, Reply, Voice, set_state, state_of
from skill.state import DoseAsked, State, Topic, Waiting


class TopicHandler(Handler):
    """Serve one of the single-answer topics (why, insomnia signs, food, timing, a missed dose, ...)."""

    def __init__(self, voice: Voice, intent: str, key: str, topic: Topic | None = None) -> None:
        super().__init__(voice)
        self.intent, self.key, self.topic = Intent(intent, HEALTH), key, topic
        self.keys = (key,)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, self.answer(self.key, topic=self.topic))


# Intents whose answer is one content entry, whatever was said.
TOPICS: dict[str, tuple[str, Topic | None]] = {
    "WhyMagnesiumIntent": ("why", None),
    "InsomniaSignsIntent": ("insomnia", None),
    "TimeToWorkIntent": ("time_to_work", None),
    "WhoItHelpsIntent": ("who_it_helps", None),
    "VitaminDIntent": ("vitamin_d", None),
    "VitaminDAmountIntent": ("vitamin_d.no_amount", None),  # T6: the sources give no vitamin D amount
    "SleepFactsIntent": ("sleep_facts", None),
    "TimingIntent": ("timing", Topic.TIMING),  # T1-T3: no clock time is a finding
}

_MECHANISM_STEMS = {
    "gaba": "gaba", "brake": "gaba", "accel": "gaba", "nmda": "gaba", "nerv": "gaba", "brain": "gaba",
    "calm": "gaba", "melatonin": "melatonin", "clock": "melatonin", "rhythm": "melatonin",
    "circadian": "melatonin", "hormone": "cortisol", "cortisol": "cortisol", "stress": "cortisol",
    "adrenal": "cortisol", "cramp": "cramps", "restless": "cramps", "leg": "cramps", "muscle": "cramps",
}


def mechanism_of(resolved: str | None, heard: str | None) -> str | None:
    if resolved in Mechanism.__members__.values():
        return resolved
    text = (heard or "").lower()
    return next((m for stem, m in _MECHANISM_STEMS.items() if stem in text), None)


class MechanismHandler(Handler):
    """Serve "how does magnesium affect melatonin": one of the four mechanisms, or the menu."""

    intent = Intent("MechanismIntent", (MECHANISM, *HEALTH))
    keys = ("mechanism.menu", *(f"mechanism.{m.value}" for m in Mechanism))

    def handle(self, handler_input: HandlerInput) -> Response:
        mechanism = mechanism_of(*slot(handler_input, "mechanism"))
        if mechanism is None:
            return self.voice.respond(handler_input, Reply([], ask=Line("mechanism.menu")))
        return self.voice.respond(handler_input, self.answer(f"mechanism.{mechanism}"))


class MissedDoseHandler(Handler):
    """Serve "I missed a night", "I took two by accident": never double (T4). An amount already taken
    that is over 800 mg ("I took 1200 by mistake") gets the gate's words and when to get advice (S3, T5)."""

    intent = Intent("MissedDoseIntent", (AMOUNT, UNIT, *HEALTH))
    keys = ("missed", "missed.gated", "missed.too_much", "gate.over_800", "disclaimer")

    def handle(self, handler_input: HandlerInput) -> Response:
        heard = read_dose(handler_input)
        taken = heard.asked
        state = state_of(handler_input)
        before = state.dose
        if before is not None and before.amount_mg and state.topic is Topic.DOSE:
            # "Can I take another 200 tonight?" after "I already take 1000 a day": that amount still stands,
            # and anything more is on top of it.
            taken = DoseAsked(before.amount_mg + (taken.amount_mg or 0), taken.form or before.form)
        advice = assess_dose(taken.amount_mg)  # the same 800 mg line as every dose answer
        if Gate.OVER_800 in advice.gates:
            lines = [*gate_lines(advice), Line("missed.too_much"), Line("disclaimer")]
            return self.voice.respond(handler_input, Reply(lines, done=True))
        if heard.conditions:
            # "I'm on warfarin" then "I forgot last night, can I take extra?": "carry on as usual" would be a dose
            # for someone the gate sends to a doctor. Never double, and the gate's words, as every dose answer.
            gated = assess_dose(taken.amount_mg, None, heard.conditions)
            lines = [Line("missed.gated"), *gate_lines(gated), Line("disclaimer")]
            return self.voice.respond(handler_input, Reply(lines, done=True))
        # An amount already taken stays the dose in question, so "would 300 more tonight be alright?" weighs both.
        if taken.amount_mg:
            return self.voice.respond(handler_input, self.answer("missed", topic=Topic.DOSE, dose=DoseAsked(taken.amount_mg)))
        return self.voice.respond(handler_input, self.answer("missed"))


class ExtraDoseHandler(Handler):
    """Serve "I took it twice by accident", "I took an extra 400": no more tonight, the signs to watch (T7).

    Not a missed dose: never "carry on as usual". Over 800 mg taken gets the gate's words too (A9.3)."""

    intent = Intent("ExtraDoseIntent", (AMOUNT, UNIT, *HEALTH))
    keys = ("dose.extra_taken", "gate.over_800")

    def handle(self, handler_input: HandlerInput) -> Response:
        heard = read_dose(handler_input)
        advice = assess_dose(heard.asked.amount_mg)  # the same 800 mg line as every dose answer
        lines = [*gate_lines(advice), Line("dose.extra_taken")]  # no conditions passed: the only gate is over 800
        # A complete answer: nothing more to offer at night, so the session ends.
        return self.voice.respond(handler_input, Reply(lines, end=True))


class DietHandler(Handler):
    """Serve "which foods have magnesium", "what about bananas": why food falls short (A8), never a food-by-food claim."""

    intent = Intent("DietIntent", (FOOD, *HEALTH))
    keys = ("diet", "diet.food")

    def handle(self, handler_input: HandlerInput) -> Response:
        # The sources name no single food's magnesium: a food asked about gets that said plainly.
        _, food = slot(handler_input, "food")
        return self.voice.respond(handler_input, self.answer("diet.food" if food else "diet"))


class FormAdviceHandler(Handler):
    """Serve "which magnesium is best for cramps": the form for a need, or for sleep in general."""

    intent = Intent("FormAdviceIntent", (NEED, FORM, *HEALTH))
    keys = ("form.advice.general", "compare.pick", "form.fits", "form.not_named")

    def handle(self, handler_input: HandlerInput) -> Response:
        resolved, heard = slot(handler_input, "need")
        advice = advise_form(parse_need(resolved) or parse_need(heard))
        key = f"form.advice.{advice.need.value}" if advice.need else "form.advice.general"
        state = state_of(handler_input)
        form, _ = _form(handler_input)
        if form is not None:
            # "Is citrate good for cramps?": yes or not the one named, then what the sources advise for it.
            verdict = "form.fits" if form in advice.forms else "form.not_named"
            return self.voice.respond(handler_input, self.answer(verdict, {"form": form.value}, extra=[Line(key)],
                                                                 topic=Topic.FORM_ADVICE, dose=DoseAsked(form=form)))
        if state.topic is Topic.COMPARE and state.compared:
            # "Which one's gentler?" right after glycinate and citrate: one of those two, then why.
            return pick_between(self, handler_input, state.compared, advice.forms, key)
        return self.voice.respond(handler_input, self.answer(key, topic=Topic.FORM_ADVICE))


def pick_between(handler: Handler, handler_input: HandlerInput, pair: tuple[Form, Form], ranked: tuple[Form, ...],
                 key: str) -> Response:
    """Answer "which one?" about two compared forms: the one the advice for that need ranks first, and the advice."""
    pick = next((form for form in ranked if form in pair), None)
    if pick is None:  # neither is named for that need: the advice alone says which forms are
        return handler.voice.respond(handler_input, handler.answer(key, topic=Topic.FORM_ADVICE))
    return handler.voice.respond(handler_input, handler.answer("compare.pick", {"form": pick.value}, extra=[Line(key)],
                                                               topic=Topic.COMPARE))


def _form(handler_input: HandlerInput, name: str = "form") -> tuple[Form | None, str | None]:
    resolved, heard = slot(handler_input, name)
    return parse_form(resolved) or parse_form(heard), heard


class FormInfoHandler(Handler):
    """Serve "tell me about threonate": what one form is and what it suits."""

    intent = Intent("FormInfoIntent", (FORM, *HEALTH))
    keys = ("form.unknown", "form.which", *(f"form.info.{f.value}" for f in Form))

    def handle(self, handler_input: HandlerInput) -> Response:
        form, heard = _form(handler_input)
        if form is None and heard and "other" in heard.lower().split():
            form = state_of(handler_input).other_form()  # "tell me about the other one" after a comparison
        if form is not None:
            return self.voice.respond(handler_input, self.answer(f"form.info.{form.value}", topic=Topic.FORM_INFO,
                                                                 dose=DoseAsked(form=form)))
        if heard:
            return self.voice.respond(handler_input, Reply([], ask=Line("form.unknown")))
        return self.voice.respond(handler_input, Reply([], ask=Line("form.which")))


class CompareFormsHandler(Handler):
    """Serve "glycinate or citrate?": one line on each, and which the article puts first for sleep."""

    intent = Intent("CompareFormsIntent", (FORM, OTHER_FORM, *HEALTH))
    keys = ("compare.close", "compare.pick", *(f"form.brief.{f.value}" for f in Form))

    def handle(self, handler_input: HandlerInput) -> Response:
        first, _ = _form(handler_input)
        second, _ = _form(handler_input, "other_form")
        state = state_of(handler_input)
        # "Is it better than glycinate?" right after hearing about oxide compares the two.
        before = state.dose.form if state.topic is Topic.FORM_INFO and state.dose else None
        forms = [f for f in dict.fromkeys((before, first, second)) if f is not None][-2:]
        if not forms and state.topic is Topic.COMPARE and state.compared:
            # "Which one's better then?" right after a comparison: between those two, for sleep.
            return pick_between(self, handler_input, state.compared, advise_form(None).forms, "form.advice.general")
        if len(forms) < 2:
            if forms:
                return self.voice.respond(handler_input, self.answer(f"form.info.{forms[0].value}",
                                                                     topic=Topic.FORM_INFO))
            return self.voice.respond(handler_input, self.answer("form.advice.general", topic=Topic.FORM_ADVICE))
        lines = [Line(f"form.brief.{f.value}") for f in forms] + [Line("compare.close")]
        return self.voice.respond(handler_input, Reply(lines, done=True, topic=Topic.COMPARE,
                                                       compared=(forms[0], forms[1])))


class SafetyHandler(Handler):
    """Serve "is magnesium safe if I'm pregnant", "I take sertraline": advice for a condition or medicine.

    A health mention here gates every dose answer for the rest of the session; right after a dose
    answer ("what about for my kids?") it is answered as the dose question it continues.
    """

    intent = Intent("SafetyIntent", (CONDITION, AGE))
    keys = ("safety.general", *(f"safety.{c}" for c in (
        "kidney", "pregnancy", "breastfeeding", "child", "medicines", "antibiotics", "bisphosphonates",
        "diuretics", "ppi", "older", "other")))

    def handle(self, handler_input: HandlerInput) -> Response:
        condition = hear_condition(handler_input)
        state = state_of(handler_input)
        if state.topic is Topic.DOSE and condition is None and slot(handler_input, "age")[1] is not None:
            # "for my dad, he's eighty" after a dose answer: an adult's age continues the dose question.
            return continue_dose(self, handler_input, follow_up=True)
        if state.topic is Topic.DOSE and condition is not None:
            before = state.dose
            advice = assess_dose(before.amount_mg if before else None, before.form if before else None, state.health)
            return self.voice.respond(handler_input, dose_reply(advice, asked=before))
        # "is it safe for her" after "my mom's on dialysis": the mention this session heard, most serious first.
        said_before = next((c for c in Condition if c in state.health), None)
        about = condition or said_before
        if about is not None:
            return self.voice.respond(handler_input, self.answer(f"safety.{about.value}", topic=Topic.SAFETY))
        return self.voice.respond(handler_input, self.answer("safety.general", topic=Topic.SAFETY))


class SideEffectsHandler(Handler):
    """Serve "can it upset my stomach", "I feel dizzy after taking it": side effects and warning signs.

    Any symptom but a complaining stomach is one of the signs of too much (S3): stop and get medical
    advice (T5), never a dose. A symptom the skill does not recognise is treated as a warning too.
    """

    intent = Intent("SideEffectsIntent", (SYMPTOM, *HEALTH))
    keys = ("side_effects.general", "side_effects.stomach", "symptom.warning")

    def handle(self, handler_input: HandlerInput) -> Response:
        said, symptom = hear_symptom(handler_input)
        if not said:
            return self.voice.respond(handler_input, self.answer("side_effects.general"))
        return self.symptom_answer(handler_input, symptom)


class UncoveredHandler(Handler):
    """Serve what the sources do not cover (zinc, melatonin pills, alcohol, with food): say so honestly (T6)."""

    intent = Intent("UncoveredIntent", (TOPIC, *HEALTH))
    keys = ("uncovered",)

    def handle(self, handler_input: HandlerInput) -> Response:
        health(handler_input)  # a medicine named here still gates later dose answers
        if slot(handler_input, "topic")[0] == Uncovered.OTHER_CONDITIONS.value:
            # "can it help my migraines": a condition the sources do not cover is still a health mention (fail closed).
            set_state(handler_input, state_of(handler_input).with_condition(Condition.OTHER))
        return self.voice.respond(handler_input, Reply([Line("uncovered")], done=True))


# Which source each family of fact ids comes from, for "where does that come from?".
_SOURCE_OF = {"A": "sources.article", "S1": "sources.nih", "S2": "sources.nih", "S3": "sources.nih",
              "S4": "sources.authorities", "S5": "sources.labels", "S6": "sources.policy", "T": "sources.open"}


def said_keys(state: State) -> list[str]:
    """The content keys of the last answer, as the session kept them (untrusted: anything odd is skipped)."""
    said = (state.last_said or {}).get("lines") or []
    return [item[0] for item in said if isinstance(item, list) and item and isinstance(item[0], str)]


class SourcesHandler(Handler):
    """Serve "where does that come from?": the sources behind the last answer, fact by fact."""

    intent = Intent("SourcesIntent")
    keys = ("sources.article", "sources.nih", "sources.authorities", "sources.labels", "sources.policy",
            "sources.open", "sources.none")

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        facts = [fact for key in said_keys(state) if key in self.voice.catalog for fact in self.voice.catalog[key].facts]
        sources = list(dict.fromkeys(_SOURCE_OF.get(f.split(".")[0], _SOURCE_OF.get(f[0], "")) for f in facts))
        lines = [Line(key) for key in sources if key]
        if not lines:
            # Asked before anything was said: the sources in general, never "ask me something first".
            return self.voice.respond(handler_input, Reply([Line("sources.none")], end=True))
        return self.voice.respond(handler_input, Reply(lines, done=True))


class AboutSkillHandler(Handler):
    """Serve "are you a doctor", "can I trust you": what the skill is and isn't (S6)."""

    intent = Intent("AboutSkillIntent")
    keys = ("about",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("about")], end=True))


class ExplainHandler(Handler):
    """Serve a bare "why?" after an answer: the details behind the last answer, where the content has them."""

    intent = Intent("ExplainIntent")
    keys = ("explain.none",)

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        first = next(iter(said_keys(state)), None)
        details = state.then if state.waiting is Waiting.MORE else (f"{first}.more" if first else None)
        if details and details in self.voice.catalog and not details.startswith(("dose.", "screen.")):
            return self.voice.respond(handler_input, Reply([Line(details)], end=True, topic=state.topic, dose=state.dose))
        return self.voice.respond(handler_input, Reply([Line("explain.none")], end=True))


__all__ = ["TOPICS", "Uncovered"]


class WhatAboutHandler(Handler):
    """Serve "and threonate?", "what about for my kids?", "what about 800?": continue the last answer.

    The same words continue whatever was just answered: a dose question with another form, amount or
    person (always through the gate), the forms for another need, or another form's description.
    "What about the runs / cortisol?" names its own subject (a symptom, a mechanism) and gets that
    topic's answer, whatever came before ("what about nuts" is DietIntent's).
    """

    intent = Intent("WhatAboutIntent", (FORM, CONDITION, AMOUNT, UNIT, NEED, AGE, SYMPTOM, MECHANISM))

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        condition = hear_condition(handler_input)
        form, _ = _form(handler_input)
        need_id, need_heard = slot(handler_input, "need")
        need = parse_need(need_id) or parse_need(need_heard)
        _, amount = slot(handler_input, "amount")
        if condition is None and form is None and amount is None:
            subject = self._subject(handler_input)
            if subject is not None:
                return subject
        if state.topic is Topic.ELEMENTAL:
            # "and taurate?" after "how much is in 500 mg of citrate": the same conversion for what changed.
            heard = read_dose(handler_input)
            before = state.dose or DoseAsked()
            merged = DoseAsked(heard.asked.amount_mg or before.amount_mg, heard.asked.form or before.form)
            return convert(self, handler_input, merged, heard.conditions,
                           unit_said=before.amount_mg is not None or slot(handler_input, "unit")[1] is not None)
        if state.topic is Topic.DOSE or amount is not None:
            return continue_dose(self, handler_input, follow_up=True)
        if condition is not None:
            return self.voice.respond(handler_input, self.answer(f"safety.{condition.value}", topic=Topic.SAFETY))
        if need is not None and state.topic is Topic.COMPARE and state.compared:
            # "and which one for sleep then" right after two forms were compared: one of those two.
            return pick_between(self, handler_input, state.compared, advise_form(need).forms, f"form.advice.{need.value}")
        if need is not None:
            return self.voice.respond(handler_input, self.answer(f"form.advice.{need.value}", topic=Topic.FORM_ADVICE))
        # "The other one" (no slot) after a comparison: the form of the two not just described.
        form = form or state.other_form()
        if form is not None:
            return self.voice.respond(handler_input, self.answer(f"form.info.{form.value}", topic=Topic.FORM_INFO,
                                                                 dose=DoseAsked(form=form)))
        return self.voice.respond(handler_input, Reply([], ask=Line("fallback")))

    def _subject(self, handler_input: HandlerInput) -> Response | None:
        """A symptom or mechanism named in the follow-up, answered as its own question would be."""
        said, symptom = hear_symptom(handler_input)
        if said:  # an unrecognised symptom is a warning sign (fail closed), as in SideEffectsHandler
            return self.symptom_answer(handler_input, symptom)
        mechanism = mechanism_of(*slot(handler_input, "mechanism"))
        if mechanism is not None:
            return self.voice.respond(handler_input, self.answer(f"mechanism.{mechanism}"))
        return None


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: what the sources answer. A new handler here is registered by its line."""
    return [
        MechanismHandler(voice),
        DietHandler(voice),
        MissedDoseHandler(voice),
        ExtraDoseHandler(voice),
        FormAdviceHandler(voice),
        FormInfoHandler(voice),
        CompareFormsHandler(voice),
        SafetyHandler(voice),
        SideEffectsHandler(voice),
        UncoveredHandler(voice),
        SourcesHandler(voice),
        WhatAboutHandler(voice),
        AboutSkillHandler(voice),
        ExplainHandler(voice),
        *(TopicHandler(voice, intent, key, topic) for intent, (key, topic) in TOPICS.items()),
    ]
