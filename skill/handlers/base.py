"""What every handler shares: how it declares what it answers, slot reading, and the routing table.

A handler declares, once: the custom intent it introduces (`intent`: name and slots, from which the
interaction model is generated), the (intent, waiting) pairs it answers (`claims`), and the content
keys it speaks (`keys`). The router picks the handler for the exact pair, else the one that answers
that intent in any state; no two handlers may claim one pair, so the order of a list never decides.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ask_sdk_core.dispatch_components import AbstractRequestHandler, AbstractRequestInterceptor
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_slot
from ask_sdk_model import IntentRequest, Response

from skill.knowledge import (Condition, Food, Form, Label, Mechanism, Need, Symptom, Times, Uncovered, Unit, age_mention,
                             health_mention, is_warning_sign)
from skill.speech import HEARD_NOW, Line, Reply, Voice, set_state, state_of
from skill.state import State, Waiting

log = logging.getLogger(__name__)

# A claim's waiting value that matches any state.
ANY: Waiting | None = None
# A claim's intent that matches every intent said in one state: a question that must be answered first.
EVERY_INTENT = "*"
# What these say is never an answer to a question: they do what they say in every state.
ALWAYS_THEMSELVES = frozenset({"AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent",
                               "AMAZON.PauseIntent", "AMAZON.RepeatIntent"})

FALLBACK_INTENT = "AMAZON.FallbackIntent"
# Built-in intents the skill answers; the model generator and the linter read this one list.
BUILT_IN_INTENTS = (
    "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent", "AMAZON.YesIntent", "AMAZON.NoIntent", "AMAZON.RepeatIntent",
    "AMAZON.StartOverIntent", "AMAZON.NextIntent", "AMAZON.ResumeIntent", "AMAZON.PauseIntent",
    "AMAZON.MoreIntent",
)


@dataclass(frozen=True, slots=True)
class Slot:
    """A slot of a custom intent: its name and its type (AMAZON.* or a custom type from the knowledge enums)."""

    name: str
    type: str
    # Asked for with Dialog.ElicitSlot; the model gets this slot's own samples from content.
    elicit: bool = False


@dataclass(frozen=True, slots=True)
class Intent:
    """A custom intent, declared once, beside the handler that introduces it."""

    name: str
    slots: tuple[Slot, ...] = ()


# Custom slot types and their ids, taken from the knowledge enums (the words for each id are per locale,
# in content/<locale>/slot_types/). OTHER gathers health conditions the sources do not name: they gate too.
SLOT_TYPES: dict[str, tuple[str, ...]] = {
    "FormType": tuple(Form),
    "NeedType": tuple(Need),
    "ConditionType": tuple(Condition),
    "MechanismType": tuple(Mechanism),
    "UnitType": tuple(Unit),
    "SymptomType": tuple(Symptom),
    "FoodType": tuple(Food),
    "TimesType": tuple(Times),
    "TopicType": tuple(Uncovered),
    "LabelType": (Label.COMPOUND, Label.ELEMENTAL),
}

# Slots used by several intents, declared once.
AMOUNT = Slot("amount", "AMAZON.NUMBER")
COUNT = Slot("count", "AMAZON.NUMBER")
# Several numbers said at once ("600 in the morning and 600 at night", "800 or 1000", "twice a day").
MORE_AMOUNT = Slot("more_amount", "AMAZON.NUMBER")
OR_AMOUNT = Slot("or_amount", "AMAZON.NUMBER")
TIMES = Slot("times", "TimesType")
UNIT = Slot("unit", "UnitType")
FORM = Slot("form", "FormType")
OTHER_FORM = Slot("other_form", "FormType")
CONDITION = Slot("condition", "ConditionType")
# "I'm 16", "for a 12 year old": an age said beside a dose question (AMAZON.NUMBER hears any age).
AGE = Slot("age", "AMAZON.NUMBER")
# Every question a person might open with their health ("I'm pregnant, which form is best?") carries
# these, so the mention is heard and gates every later dose answer in the session (fail closed).
HEALTH = (CONDITION, AGE)
NEED = Slot("need", "NeedType")
MECHANISM = Slot("mechanism", "MechanismType")
FOOD = Slot("food", "FoodType")
SYMPTOM = Slot("symptom", "SymptomType")
TOPIC = Slot("topic", "TopicType")
TIME = Slot("time", "AMAZON.TIME", elicit=True)
# "Half ten": British, Irish, Australian and Indian English for 10:30. AMAZON.TIME is not known to read
# it, so the hour is heard as a number after "half" and the half hour added (knowledge/nights.py).
HALF_PAST = Slot("half_past", "AMAZON.NUMBER")


def request_key(handler_input: HandlerInput) -> str:
    """What a request asks for: its intent name, or its request type when it is not an intent."""
    request = handler_input.request_envelope.request
    if isinstance(request, IntentRequest):
        return str(request.intent.name or "") if request.intent is not None else ""
    return str(getattr(request, "object_type", None) or "")


def slot(handler_input: HandlerInput, name: str) -> tuple[str | None, str | None]:
    """Return (resolved id, what was heard) for a slot; either may be None."""
    request = handler_input.request_envelope.request
    if not isinstance(request, IntentRequest) or request.intent is None or not request.intent.slots:
        return None, None
    found = get_slot(handler_input, name)
    if found is None or not found.value:
        return None, None
    heard = str(found.value).strip()[:200] or None  # cap: a slot value is words, not an essay
    resolved = None
    authorities = getattr(found.resolutions, "resolutions_per_authority", None) or []
    if authorities:
        # Here, not at import: only a slot that carries resolutions needs it, and reading that
        # request loaded it already; a launch would pay ~1 ms of cold start for eight modules.
        from ask_sdk_model.slu.entityresolution import StatusCode
    for authority in authorities:
        if authority.status and authority.status.code == StatusCode.ER_SUCCESS_MATCH and authority.values:
            value = authority.values[0].value  # a resolution may come without its value object
            resolved = (value.id or value.name) if value is not None else None
            break
    return resolved, heard


_CONDITION_READ = "condition_read"  # request attribute: this request's condition slot, once read


def hear_condition(handler_input: HandlerInput) -> Condition | None:
    """Read the condition slot and remember any health mention for the rest of the session.

    Fails closed: a value Alexa could not resolve (ER_SUCCESS_NO_MATCH) is still a health mention,
    kept as Condition.OTHER, unless it is plainly about something else ("with food").
    """
    read = handler_input.attributes_manager.request_attributes
    if _CONDITION_READ in read:  # the listener read it before the handler asks again: once per request
        earlier = read[_CONDITION_READ]
        return earlier if isinstance(earlier, Condition) else None
    try:
        resolved, heard = slot(handler_input, "condition")
        known = Condition(resolved) if resolved is not None and resolved in Condition.__members__.values() else None
        condition = known or health_mention(heard) or age_mention(slot(handler_input, "age")[1])
    except Exception:  # any failure reading a health slot gates the session (fail closed)
        log.warning("a health slot could not be read; gating the rest of the session", exc_info=True)
        condition = Condition.OTHER
    if condition is not None:
        set_state(handler_input, state_of(handler_input).with_condition(condition))
    read[_CONDITION_READ] = condition
    return condition


def elicit(handler_input: HandlerInput, intent: str, slot_name: str) -> None:
    """Ask for one slot with Dialog.ElicitSlot, so the bare answer ("ten thirty", "it's citrate") is heard as it."""
    if isinstance(handler_input.request_envelope.request, IntentRequest):
        # Imported where used: the package loads 14 modules a cold start that asks nothing would pay for.
        from ask_sdk_model import Intent as AskIntent
        from ask_sdk_model import Slot as AskSlot
        from ask_sdk_model.dialog import ElicitSlotDirective

        wanted = AskIntent(name=intent, slots={slot_name: AskSlot(name=slot_name)})
        handler_input.response_builder.add_directive(ElicitSlotDirective(updated_intent=wanted, slot_to_elicit=slot_name))


def hear_symptom(handler_input: HandlerInput) -> tuple[bool, Symptom | None]:
    """Whether a symptom was said, and which; a warning sign (S3) gates every later dose answer this session.

    A symptom the skill does not recognise is a warning sign too (fail closed).
    """
    resolved, heard = slot(handler_input, "symptom")
    if resolved is None and not heard:
        return False, None
    symptom = Symptom(resolved) if resolved is not None and resolved in Symptom.__members__.values() else None
    if is_warning_sign(symptom):
        set_state(handler_input, state_of(handler_input).with_condition(Condition.OTHER))
    return True, symptom


class HealthListener(AbstractRequestInterceptor):
    """Hear a health mention in any request, before its handler runs, and note what was new this turn.

    The voice adds "ask your doctor" for a new mention to an answer that gives no dose (a dose answer
    carries the gate itself), so "I'm pregnant, which form is best?" is not answered as if unsaid.
    """

    def process(self, handler_input: HandlerInput) -> None:
        request = handler_input.request_envelope.request
        if not isinstance(request, IntentRequest) or request.intent is None or not request.intent.slots:
            return
        before = state_of(handler_input).health
        hear_condition(handler_input)
        new = state_of(handler_input).health - before
        if new:
            handler_input.attributes_manager.request_attributes[HEARD_NOW] = new


def health(handler_input: HandlerInput) -> set[Condition]:
    """Every health mention of this session, including one in this request's condition slot."""
    hear_condition(handler_input)
    return state_of(handler_input).health


class Handler(AbstractRequestHandler):
    """A request handler that speaks through the shared voice and declares what it answers."""

    intent: Intent | None = None  # the custom intent this handler introduces into the model
    claims: tuple[tuple[str, Waiting | None], ...] = ()  # defaults to (intent, ANY)
    keys: tuple[str, ...] = ()  # content keys it speaks, held against the catalog by a test

    def __init__(self, voice: Voice) -> None:
        self.voice = voice

    def answers(self) -> tuple[tuple[str, Waiting | None], ...]:
        """The (intent or request type, waiting) pairs this handler serves."""
        if self.claims:
            return self.claims
        return ((self.intent.name, ANY),) if self.intent else ()

    def can_handle(self, handler_input: HandlerInput) -> bool:
        # Only the router asks; a handler used on its own answers what it claims in any state.
        return any(name == request_key(handler_input) for name, _ in self.answers())

    def handle(self, handler_input: HandlerInput) -> Response:
        raise NotImplementedError

    def state(self, handler_input: HandlerInput) -> State:
        return state_of(handler_input)

    def answer(self, key: str, params: dict | None = None, *, extra: list[Line] | None = None, offer: bool = True,
               **context: object) -> Reply:
        """A short answer that offers its details when the content has them, else is done (`Reply.done`).

        At night a complete answer is the end of a one-shot request: asking "anything else?" keeps a sleepy
        person talking. Details are offered only where the content has them; `offer=False` offers them
        only in a conversation the person opened (an answer that is whole without them).
        """
        lines = [Line(key, params or {})] + (extra or [])
        more = f"{key}.more" if f"{key}.more" in self.voice.catalog else None
        if more is not None and offer:
            reply = Reply(lines, ask=Line("offer_more"), more=more)
        else:
            reply = Reply(lines, done=True, more=more)
        return replace(reply, **context) if context else reply  # type: ignore[arg-type]


    def symptom_answer(self, handler_input: HandlerInput, symptom: Symptom | None) -> Response:
        """A symptom after taking it: stop and get medical advice (T5), or for a complaining stomach take less; never a dose."""
        if is_warning_sign(symptom):
            return self.voice.respond(handler_input, Reply([Line("symptom.warning")], done=True))
        return self.voice.respond(handler_input, self.answer("side_effects.stomach"))


class RoutingError(ValueError):
    """Two handlers claim the same (intent, waiting) pair: the order of a list would decide."""


class Router(AbstractRequestHandler):
    """The one request handler the SDK sees for everything the skill's handlers claim."""

    def __init__(self, handlers: Iterable[Handler]) -> None:
        self.handlers = list(handlers)
        self.table: dict[tuple[str, Waiting | None], Handler] = {}
        for handler in self.handlers:
            for claim in handler.answers():
                if claim in self.table:
                    other = type(self.table[claim]).__name__
                    raise RoutingError(f"{type(handler).__name__} and {other} both claim {claim}")
                self.table[claim] = handler
        self.names = {name for name, _ in self.table}

    def route(self, handler_input: HandlerInput) -> Handler | None:
        """The handler for this request in this state: the exact claim first, then the any-state one."""
        key = request_key(handler_input)
        if key not in self.names and not isinstance(handler_input.request_envelope.request, IntentRequest):
            return None
        waiting = state_of(handler_input).waiting
        found = self.table.get((key, waiting))
        is_intent = isinstance(handler_input.request_envelope.request, IntentRequest)
        if found is None and is_intent and key not in ALWAYS_THEMSELVES:
            found = self.table.get((EVERY_INTENT, waiting))
        found = found or self.table.get((key, ANY))
        if found is None and is_intent:
            # An intent with no handler in this state (a stray "next") is answered as the fallback.
            found = self.table.get((FALLBACK_INTENT, ANY))
        return found

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self.route(handler_input) is not None

    def handle(self, handler_input: HandlerInput) -> Response:
        handler = self.route(handler_input)
        assert handler is not None  # can_handle said so
        return handler.handle(handler_input)
