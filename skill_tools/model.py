"""Generate the interaction model from the skill's own declarations, and check the checked-in copy.

Intents and their slots come from the handlers (`Handler.intent`), slot ids from the knowledge enums
(`SLOT_TYPES`), and the words from each locale's folders beside its content: `sentences/<Intent>.toml`
(samples, the invocation name in `sentences/invocation.toml`) and `slot_types/<Type>.toml` (synonyms). `interaction_model/interactionModels/custom/<locale>.json` is this
output, checked in so the ASK CLI deploys it as it is; a test fails when the two drift.
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from skill.builder import declared_handlers
from skill.content import INVOCATION_FILE, SENTENCES_DIR, SLOT_TYPES_DIR, available_locales, load_catalog
from skill.handlers.base import BUILT_IN_INTENTS, SLOT_TYPES, Intent

Json = dict[str, Any]


class ModelSourceError(ValueError):
    """The declarations and the samples file disagree (a missing sample list, an unknown slot id...)."""


def declared_intents(locale: str = "en-US") -> list[Intent]:
    """Every custom intent, once, in the order the handlers declare them."""
    seen: dict[str, Intent] = {}
    for handler in declared_handlers(locale):
        intent = handler.intent
        if intent is None:
            continue
        if intent.name in seen and seen[intent.name] != intent:
            raise ModelSourceError(f"{intent.name} is declared twice with different slots")
        seen[intent.name] = intent
    return list(seen.values())


def load_words(locale: str) -> Json:
    """What people say in one locale, gathered from its files: one per intent, one per slot type.

    `sentences/<Intent>.toml` holds an intent's samples (and `[slots.<name>]` answers to an elicitation),
    `sentences/invocation.toml` the invocation name, `slot_types/<Type>.toml` each value id's words.
    A market (a folder whose `market.toml` names a base) says everything its base says, and adds its
    own: more samples for an intent, more synonyms for a value id.
    """
    from skill.content.source import market_base

    folder = Path(str(resources.files("skill.content").joinpath(locale)))
    base = market_base(folder)
    words: Json = load_words(base) if base else {"intents": {}, "slots": {}, "types": {}}
    for path in sorted((folder / SENTENCES_DIR).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if path.name == INVOCATION_FILE:
            words["invocation"] = data["invocation"]
            continue
        intent = words["intents"].setdefault(path.stem, {"samples": []})
        intent["samples"] = list(dict.fromkeys([*intent["samples"], *data.get("samples", [])]))
        for slot, extra in (data.get("slots") or {}).items():
            held = words["slots"].setdefault(path.stem, {}).setdefault(slot, {"samples": []})
            held["samples"] = list(dict.fromkeys([*held["samples"], *extra.get("samples", [])]))
    for path in sorted((folder / SLOT_TYPES_DIR).glob("*.toml")):
        values = words["types"].setdefault(path.stem, {})
        for value_id, spoken in tomllib.loads(path.read_text(encoding="utf-8")).items():
            held = values.setdefault(value_id, {"name": spoken.get("name", value_id), "synonyms": []})
            held["synonyms"] = list(dict.fromkeys([*held.get("synonyms", []), *spoken.get("synonyms", [])]))
    return words


def build_model(locale: str = "en-US") -> Json:
    """The whole interaction model JSON for one locale."""
    words = load_words(locale)
    sample_lists: dict[str, list[str]] = {k: v.get("samples", []) for k, v in words.get("intents", {}).items()}
    slot_samples: dict[str, dict[str, Json]] = words.get("slots", {})
    problems: list[str] = []
    intents: list[Json] = []
    for name in BUILT_IN_INTENTS:
        entry: Json = {"name": name, "samples": sample_lists.pop(name, [])}
        intents.append(entry)
    used_types: set[str] = set()
    for intent in declared_intents(locale):
        samples = sample_lists.pop(intent.name, None)
        if not samples:
            problems.append(f"{intent.name}: no samples in {locale}/{SENTENCES_DIR}/{intent.name}.toml")
            samples = []
        slots = []
        for slot in intent.slots:
            entry = {"name": slot.name, "type": slot.type}
            extra = slot_samples.get(intent.name, {}).get(slot.name, {}).get("samples")
            if extra:
                entry["samples"] = extra
            slots.append(entry)
            if not slot.type.startswith("AMAZON."):
                used_types.add(slot.type)
        intents.append({"name": intent.name, "slots": slots, "samples": samples})
    problems += [f"{name}: samples for an intent no handler declares" for name in sample_lists]
    types = []
    vocab: dict[str, Json] = words.get("types", {})
    for type_name, ids in SLOT_TYPES.items():
        if type_name not in used_types:
            problems.append(f"{type_name}: no slot uses this type")
        entries = vocab.get(type_name, {})
        values = []
        for value_id in ids:
            spoken = entries.get(str(value_id))
            if spoken is None:
                problems.append(f"{type_name}.{value_id}: no words in {locale}/{SLOT_TYPES_DIR}/{type_name}.toml")
                continue
            values.append({"id": str(value_id), "name": {"value": spoken["name"], "synonyms": spoken.get("synonyms", [])}})
        problems += [f"{type_name}.{extra}: no such id in the knowledge enums" for extra in set(entries) - set(map(str, ids))]
        types.append({"name": type_name, "values": values})
    if problems:
        raise ModelSourceError("the interaction model cannot be generated:\n  " + "\n  ".join(problems))
    model: Json = {"languageModel": {"invocationName": words["invocation"], "intents": intents, "types": types}}
    dialog = _dialog(locale)
    if dialog:
        model.update(dialog)
    return {"interactionModel": model}


def _dialog(locale: str) -> Json:
    """The dialog model for slots the skill asks for with Dialog.ElicitSlot (the skill speaks the prompt)."""
    catalog = load_catalog(locale)
    intents, prompts = [], []
    for intent in declared_intents(locale):
        asked = [slot for slot in intent.slots if slot.elicit]
        if not asked:
            continue
        slots = []
        for slot in asked:
            prompt_id = f"Elicit.Slot.{intent.name}.{slot.name}"
            slots.append({"name": slot.name, "type": slot.type, "confirmationRequired": False,
                          "elicitationRequired": False, "prompts": {"elicitation": prompt_id}})
            # The elicitation prompt is the skill's own question, from content.
            say = catalog[f"prompt.{intent.name}.{slot.name}"].say
            prompts.append({"id": prompt_id, "variations": [{"type": "PlainText", "value": v} for v in say]})
        intents.append({"name": intent.name, "confirmationRequired": False, "prompts": {}, "slots": slots})
    if not intents:
        return {}
    return {"dialog": {"intents": intents, "delegationStrategy": "SKILL_RESPONSE"}, "prompts": prompts}


def render(model: Json) -> str:
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def model_path(package: Path, locale: str = "en-US") -> Path:
    return package / "interactionModels" / "custom" / f"{locale}.json"


def main(argv: list[str] | None = None) -> int:
    """`python -m skill_tools.model [--check] [PACKAGE]`: write (or check) every locale's generated model."""
    parser = argparse.ArgumentParser(prog="python -m skill_tools.model", description=main.__doc__)
    parser.add_argument("package", nargs="?", default="interaction_model")
    parser.add_argument("--check", action="store_true", help="exit 1 if a checked-in model differs")
    args = parser.parse_args(argv)
    stale = 0
    for locale in available_locales():
        try:
            text = render(build_model(locale))
        except ModelSourceError as exc:
            print(f"model: {locale}: {exc}", file=sys.stderr)
            return 2
        target = model_path(Path(args.package), locale)
        if args.check:
            if (target.read_text(encoding="utf-8") if target.exists() else "") != text:
                print(f"model: {target} is stale; run `make model`", file=sys.stderr)
                stale += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
