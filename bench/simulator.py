"""Section 4: the offline simulator's language understanding, in utterances resolved per second.

Every sample utterance of the interaction model is said with its slots filled (a custom slot by
its type's first value, a number as "300", a time as "ten thirty pm"), and resolved again and
again; the figure is how many the resolver gets through per second, plus how many came back as
the intent the sample belongs to (a sanity check that the benchmark measures real matches).
"""
from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import MODEL
from bench.measure import loop_seconds

BUILTIN_FILLS = {"AMAZON.NUMBER": "300", "AMAZON.TIME": "ten thirty pm", "AMAZON.DURATION": "twenty minutes"}
OTHER_FILL = "something"


@dataclass(frozen=True)
class Options:
    repeats: int = 5
    passes: int = 2  # full passes over every utterance per repeat


def filled_utterances(model_path: Path = MODEL) -> list[tuple[str, str]]:
    """(utterance, intent) for every sample in the model, each slot replaced by a value of its type."""
    language = json.loads(model_path.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
    first_value = {
        t["name"]: t["values"][0]["name"]["value"] for t in language.get("types", []) if t.get("values")
    }
    out: list[tuple[str, str]] = []
    for intent in language["intents"]:
        slot_types = {s["name"]: s["type"] for s in intent.get("slots", [])}

        def fill(match: re.Match[str]) -> str:
            slot_type = slot_types.get(match.group(1).strip(), "")
            return first_value.get(slot_type) or BUILTIN_FILLS.get(slot_type, OTHER_FILL)

        for sample in intent.get("samples", []):
            out.append((re.sub(r"\{([^{}]*)\}", fill, sample), intent["name"]))
    return out


def run(options: Options) -> dict[str, Any]:
    """Utterances per second over every filled sample, and the share resolved to their own intent."""
    from skill_tools.simulator.nlu import Resolver

    started = time.perf_counter()
    resolver = Resolver.from_model(MODEL)
    compile_ms = (time.perf_counter() - started) * 1000
    utterances = filled_utterances()
    if not utterances:
        raise RuntimeError(f"{MODEL} has no sample utterances")
    right = sum(resolver.resolve(text).intent == intent for text, intent in utterances)  # also the warm-up
    texts = [text for text, _ in utterances]

    def one_pass() -> None:
        for _ in range(options.passes):
            for text in texts:
                resolver.resolve(text)

    seconds = statistics.median(loop_seconds(one_pass, 1) for _ in range(options.repeats))
    resolved = len(texts) * options.passes
    return {
        "utterances": len(texts),
        "resolved_per_repeat": resolved,
        "repeats": options.repeats,
        "per_second": round(resolved / seconds, 1) if seconds else 0.0,
        "us_per_utterance": round(seconds / resolved * 1e6, 1),
        "compile_ms": round(compile_ms, 1),
        "own_intent": right,
        "own_intent_share": round(right / len(texts), 3),
    }
