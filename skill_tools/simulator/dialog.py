"""Dialog.ElicitSlot in the simulator: after the skill asks for a slot, a bare answer fills it.

Alexa, having sent `Dialog.ElicitSlot` for SetBedtimeIntent's time, hears "ten thirty" as that
intent with that slot, using the slot's own samples ("{time}", "around {time}"). This does the same
with the slot-level samples of the model, the built-in slot parsers and the resolver's custom values.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from skill_tools.simulator.builtin_slots import parse_number, parse_time
from skill_tools.simulator.nlu import Resolution, SlotMatch, normalise

# (intent, slot) -> (slot type, the slot's samples)
SlotSamples = Mapping[tuple[str, str], tuple[str, list[str]]]
_PARSERS = {"AMAZON.TIME": parse_time, "AMAZON.NUMBER": parse_number}
# (slot type, words) -> the value those words are of that custom type, or None
CustomValue = Callable[[str, str], SlotMatch | None]


def slot_samples(language_model: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Every slot that has its own samples, from a model's languageModel."""
    found: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for intent in language_model.get("intents", []):
        for slot in intent.get("slots", []) or []:
            if slot.get("samples"):
                found[(intent["name"], slot["name"])] = (slot["type"], list(slot["samples"]))
    return found


def load_slot_samples(model_file: Path) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Slot samples of the model file at `model_file` (an interactionModels/custom/<locale>.json)."""
    data = json.loads(model_file.read_text(encoding="utf-8"))
    return slot_samples(data.get("interactionModel", {}).get("languageModel", {}))


def elicited_directive(response: Mapping[str, Any]) -> tuple[str, str] | None:
    """(intent, slot) when a response asks for a slot with Dialog.ElicitSlot."""
    body = response.get("response")
    for directive in (body or {}).get("directives", []) if isinstance(body, dict) else []:
        if isinstance(directive, dict) and directive.get("type") == "Dialog.ElicitSlot":
            intent = (directive.get("updatedIntent") or {}).get("name")
            slot = directive.get("slotToElicit")
            if isinstance(intent, str) and isinstance(slot, str):
                return intent, slot
    return None


def resolve_elicited(utterance: str, intent: str, slot: str, samples: SlotSamples,
                     custom: CustomValue | None = None) -> Resolution | None:
    """The answer to an elicited slot, or None when the utterance is not one (the person changed topic).

    Built-in types are parsed; a custom type's value ("it's citrate") is heard by ``custom``, the
    resolver's own recognition of the type's values and synonyms.
    """
    entry = samples.get((intent, slot))
    if entry is None:
        return None
    slot_type = entry[0]
    parser = _PARSERS.get(slot_type)
    if parser is None and custom is None:
        return None
    text = normalise(utterance)
    for sample in entry[1]:
        # normalise() drops braces, so the slot reference travels as a plain word through it.
        marked = normalise(sample.replace("{" + slot + "}", " zzslotzz "))
        pattern = re.escape(marked).replace("zzslotzz", "(?P<value>.+)")
        match = re.fullmatch(pattern, text)
        if match is None:
            continue
        if parser is not None:
            value = parser(match.group("value"))
            filled = SlotMatch(slot, value, slot_type, None, None) if value is not None else None
        else:
            heard = custom(slot_type, match.group("value")) if custom is not None else None
            filled = SlotMatch(slot, heard.value, slot_type, heard.resolved_id, heard.resolved_name) if heard else None
        if filled is not None:
            return Resolution(intent, {slot: filled}, 1.0, sample, {slot: slot_type})
    return None
