"""Dialog.ElicitSlot in the simulator: after the skill asks for a slot, a bare answer fills it.

Alexa, having sent `Dialog.ElicitSlot` for SetBedtimeIntent's time, hears "ten thirty" as that
intent with that slot, using the slot's own samples ("{time}", "around {time}"). This does the same
with the slot-level samples of the model and the built-in slot parsers.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skill_tools.simulator.builtin_slots import parse_number, parse_time
from skill_tools.simulator.nlu import Resolution, SlotMatch, normalise

# (intent, slot) -> (slot type, the slot's samples)
SlotSamples = Mapping[tuple[str, str], tuple[str, list[str]]]
_PARSERS = {"AMAZON.TIME": parse_time, "AMAZON.NUMBER": parse_number}


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


def resolve_elicited(utterance: str, intent: str, slot: str, samples: SlotSamples) -> Resolution | None:
    """The answer to an elicited slot, or None when the utterance is not one (the person changed topic)."""
    entry = samples.get((intent, slot))
    parser = _PARSERS.get(entry[0]) if entry else None
    if entry is None or parser is None:
        return None
    text = normalise(utterance)
    for sample in entry[1]:
        # normalise() drops braces, so the slot reference travels as a plain word through it.
        marked = normalise(sample.replace("{" + slot + "}", " zzslotzz "))
        pattern = re.escape(marked).replace("zzslotzz", "(?P<value>.+)")
        match = re.fullmatch(pattern, text)
        value = parser(match.group("value")) if match else None
        if value is not None:
            filled = SlotMatch(slot, value, entry[0], None, None)
            return Resolution(intent, {slot: filled}, 1.0, sample, {slot: entry[0]})
    return None
