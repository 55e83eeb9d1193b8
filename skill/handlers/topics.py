"""Questions about magnesium and sleep that the article answers: one content entry each, or by slot."""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput

from ask_sdk_model import Response

from skill.handlers.base import Handler, remember_condition, slot
from skill.knowledge import Form, advise_form, parse_condition, parse_form, parse_need
from skill.speech import Line, Reply, Voice

# Intents whose answer is one content entry, whatever was said.
TOPICS: dict[str, str] = {
    "WhyMagnesiumIntent": "why",
    "InsomniaSignsIntent": "insomnia",
    "DietIntent": "diet",
    "TimeToWorkIntent": "time_to_work",
    "WhoItHelpsIntent": "who_it_helps",
    "VitaminDIntent": "vitamin_d",
    "SleepFactsIntent": "sleep_facts",
}

MECHANISMS = ("gaba", "melatonin", "cortisol", "cramps")
_MECHANISM_STEMS = {
    "gaba": "gaba", "brake": "gaba", "accel": "gaba", "nmda": "gaba", "nerv": "gaba", "brain": "gaba",
    "calm": "gaba", "melatonin": "melatonin", "clock": "melatonin", "rhythm": "melatonin",
    "circadian": "melatonin", "hormone": "cortisol", "cortisol": "cortisol", "stress": "cortisol",
    "adrenal": "cortisol", "cramp": "cramps", "restless": "cramps", "leg": "cramps", "muscle": "cramps",
}


class TopicHandler(Handler):
    """Serve one of the article's single-answer topics (why, insomnia signs, food, timing, ...)."""

    def __init__(self, voice: Voice, intent: str, key: str) -> None:
        super().__init__(voice)
        self.intents, self.key = (intent,), key

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, self.answer(self.key))


def _mechanism(resolved: str | None, heard: str | None) -> str | None:
    if resolved in MECHANISMS:
        return resolved
    text = (heard or "").lower()
    return next((m for stem, m in _MECHANISM_STEMS.items() if stem in text), None)


class MechanismHandler(Handler):
    """Serve "how does magnesium affect melatonin": one of the four mechanisms, or the menu."""

    intents = ("MechanismIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        mechanism = _mechanism(*slot(handler_input, "mechanism"))
        if mechanism is None:
            return self.voice.respond(handler_input, Reply([], ask=Line("mechanism.menu")))
        return self.voice.respond(handler_input, self.answer(f"mechanism.{mechanism}"))


class FormAdviceHandler(Handler):
    """Serve "which magnesium is best for cramps": the form for a need, or for sleep in general."""

    intents = ("FormAdviceIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        resolved, heard = slot(handler_input, "need")
        advice = advise_form(parse_need(resolved) or parse_need(heard))
        key = f"form.advice.{advice.need.value}" if advice.need else "form.advice.general"
        return self.voice.respond(handler_input, self.answer(key))


class FormInfoHandler(Handler):
    """Serve "tell me about threonate": what one form is and what it suits."""

    intents = ("FormInfoIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        resolved, heard = slot(handler_input, "form")
        form: Form | None = parse_form(resolved) or parse_form(heard)
        if form is not None:
            return self.voice.respond(handler_input, self.answer(f"form.info.{form.value}"))
        if heard:
            return self.voice.respond(handler_input, Reply([], ask=Line("form.unknown", {"form": heard})))
        return self.voice.respond(handler_input, Reply([], ask=Line("form.which")))


class SafetyHandler(Handler):
    """Serve "is magnesium safe if I'm pregnant": side effects, or advice for a condition or medicine.

    A condition named here also gates every dose answer for the rest of the session.
    """

    intents = ("SafetyIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        resolved, heard = slot(handler_input, "condition")
        condition = parse_condition(resolved) or parse_condition(heard)
        if condition is not None:
            remember_condition(handler_input, condition)
            return self.voice.respond(handler_input, self.answer(f"safety.{condition.value}"))
        if heard:
            return self.voice.respond(handler_input, self.answer("safety.unknown", {"condition": heard}))
        return self.voice.respond(handler_input, self.answer("safety.general"))
