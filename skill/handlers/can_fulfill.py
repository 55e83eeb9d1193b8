"""Name-free interaction: answer Alexa's CanFulfillIntentRequest truthfully, and change nothing.

"Alexa, how much magnesium should I take?" said without the skill's name makes Alexa ask the
skills whose models have that intent whether they could serve it. The answer is per intent
(YES / MAYBE / NO) and per slot (canUnderstand YES / MAYBE / NO, canFulfill YES / NO). Alexa
requires that answering changes nothing: no speech, no store read or write, no session change.

What the skill says:
- YES for a question it answers from its knowledge, the same for anyone, when every slot value
  given is one it knows (the slot values are the knowledge enums `Form`, `Need`, `Condition`,
  the four mechanisms, milligrams and grams, a number);
- MAYBE for the same intents when a slot value is not one it knows: the answer still comes (a
  menu of forms or mechanisms, or the general dose), just not for that value;
- NO for intents that change what is stored about a person (bedtime, preferences, "I took it",
  reminders, "forget me"): said without a skill's name, "cancel my reminder" or "forget me" is
  far more likely meant for Alexa itself, and nobody should have their data changed by a skill
  they did not name; NO for every AMAZON.* built-in (help, stop, yes, repeat, ...), which mean
  something only inside a session with the skill; NO for any intent the skill does not have.
- Health: a `condition` slot is always understood (YES when it names a condition the safety
  gate knows, MAYBE otherwise) and always fulfilled, because whatever is named, the dose
  answer goes through the gate. It is never NO, so a health mention never turns the skill away.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response, Slot
from ask_sdk_model.canfulfill import (
    CanFulfillIntent,
    CanFulfillIntentRequest,
    CanFulfillIntentValues,
    CanFulfillSlot,
    CanFulfillSlotValues,
    CanUnderstandSlotValues,
)

from skill.handlers.events import EventHandler
from skill.handlers.topics import TOPICS, mechanism_of
from skill.knowledge import Condition, Food, Symptom, Times, Uncovered, parse_condition, parse_form, parse_need

log = logging.getLogger(__name__)

# The intents answered from knowledge alone; tests hold this against the handlers' declared intents.
NAME_FREE_INTENTS: frozenset[str] = frozenset(
    {
        *TOPICS,  # why magnesium, insomnia signs, timing, who it helps, vitamin D, sleep facts
        "DietIntent",
        "MissedDoseIntent",
        "MechanismIntent",
        "DoseIntent",
        "ElementalIntent",
        "FormAdviceIntent",
        "FormInfoIntent",
        "SafetyIntent",
        "CompareFormsIntent",
        "SideEffectsIntent",
        "UncoveredIntent",  # an honest "my sources don't cover that" is still the right answer
        "SleeplessIntent",
        "BreatheIntent",
        "WindDownIntent",  # starts the routine; nothing is stored until the person answers
    }
)

_UNITS = frozenset({"mg", "mgs", "milligram", "milligrams", "milli grams", "g", "gs", "gram", "grams"})


def _number(resolved: str | None, heard: str | None) -> bool:
    # AMAZON.NUMBER sends digits, or "?" for a number Alexa heard but could not make out.
    try:
        return math.isfinite(float(str(heard).replace(",", "")))
    except ValueError:
        return False


# Slot name -> does the skill understand this value (resolved id, words heard)?
UNDERSTANDS: dict[str, Callable[[str | None, str | None], bool]] = {
    "form": lambda resolved, heard: (parse_form(resolved) or parse_form(heard)) is not None,
    "other_form": lambda resolved, heard: (parse_form(resolved) or parse_form(heard)) is not None,
    "symptom": lambda resolved, heard: resolved in Symptom.__members__.values(),
    "topic": lambda resolved, heard: resolved in Uncovered.__members__.values(),
    "need": lambda resolved, heard: (parse_need(resolved) or parse_need(heard)) is not None,
    "condition": lambda resolved, heard: resolved in Condition.__members__.values() or parse_condition(heard) is not None,
    "mechanism": lambda resolved, heard: mechanism_of(resolved, heard) is not None,
    "food": lambda resolved, heard: resolved in Food.__members__.values(),
    "unit": lambda resolved, heard: (resolved or "").lower() in _UNITS or (heard or "").strip().lower() in _UNITS,
    "amount": _number,
    "more_amount": _number,
    "or_amount": _number,
    "times": lambda resolved, heard: resolved in Times.__members__.values(),
    "count": _number,
    "age": _number,
}
# Slots whose value the skill serves whatever it is: the safety gate answers any health mention and any
# age, an unknown symptom is answered as a warning sign, an unknown topic as "my sources don't cover that",
# and any food with what the sources do say about food (they name no single food's magnesium).
ALWAYS_FULFILLED = frozenset({"condition", "symptom", "topic", "age", "food"})


def _read(slot: Slot) -> tuple[str | None, str | None]:
    """(resolved id, words heard) of a slot, as Alexa's entity resolution and ASR gave them."""
    heard = str(slot.value).strip()[:200] or None if slot.value else None
    authorities = getattr(slot.resolutions, "resolutions_per_authority", None) or []
    if authorities:
        from ask_sdk_model.slu.entityresolution import StatusCode  # see skill.handlers.base.slot
    for authority in authorities:
        if authority.status and authority.status.code == StatusCode.ER_SUCCESS_MATCH and authority.values:
            value = authority.values[0].value
            return (value.id or value.name) if value else None, heard
    return None, heard


def judge_slot(name: str, slot: Slot) -> CanFulfillSlot:
    """Whether the skill understands one slot value and can serve it."""
    resolved, heard = _read(slot)
    understands = UNDERSTANDS.get(name)
    if understands is not None and (resolved or heard) and understands(resolved, heard):
        return CanFulfillSlot(CanUnderstandSlotValues.YES, CanFulfillSlotValues.YES)
    if name in ALWAYS_FULFILLED:
        return CanFulfillSlot(CanUnderstandSlotValues.MAYBE, CanFulfillSlotValues.YES)
    return CanFulfillSlot(CanUnderstandSlotValues.NO, CanFulfillSlotValues.NO)


def judge(request: CanFulfillIntentRequest) -> CanFulfillIntent:
    """The whole answer for one CanFulfillIntentRequest; pure, so it cannot change anything."""
    intent = request.intent
    name = intent.name if intent is not None else None
    if intent is None or name not in NAME_FREE_INTENTS:
        return CanFulfillIntent(can_fulfill=CanFulfillIntentValues.NO)
    slots = {
        slot_name: judge_slot(slot_name, slot)
        for slot_name, slot in (intent.slots or {}).items()
        if isinstance(slot, Slot) and slot.value  # a slot Alexa did not fill says nothing either way
    }
    sure = all(s.can_understand is CanUnderstandSlotValues.YES for s in slots.values())
    verdict = CanFulfillIntentValues.YES if sure else CanFulfillIntentValues.MAYBE
    return CanFulfillIntent(can_fulfill=verdict, slots=slots or None)


class CanFulfillHandler(EventHandler):
    """Serve CanFulfillIntentRequest: say whether the skill could answer, without answering."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return isinstance(handler_input.request_envelope.request, CanFulfillIntentRequest)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        assert isinstance(request, CanFulfillIntentRequest)  # can_handle said so
        answer = judge(request)
        log.info("can fulfill %s: %s", _intent_name(request), getattr(answer.can_fulfill, "value", None))
        return handler_input.response_builder.set_can_fulfill_intent(answer).response


def _intent_name(request: CanFulfillIntentRequest) -> str | None:
    name = request.intent.name if request.intent is not None else None
    return str(name)[:100] if name is not None else None
