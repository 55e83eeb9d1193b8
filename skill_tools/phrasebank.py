"""Score the skill on the phrase bank: natural phrasings, each with the outcome a person should get.

Each phrase goes through an understanding of speech and the real skill, in a fresh session, after any
context utterances. Two understandings (``--mode``): "resolver", the offline resolver with its hand rules
(nlu.py, an approximation of Alexa's NLU), and "device", ``DeviceNLU`` (simulator/device.py), statistical
models trained on the interaction model alone, as a device judges. A phrase is right when:
- `outcome = "gated"`: no dose figure is spoken and the answer sends the person to a doctor or pharmacist
  (or, when a context turn ended its session, asks the screening question: the new session cannot know);
- `outcome = "dont_know"`: the answer says the sources do not cover it;
- `outcome = "stop_and_advise"`: the answer says stop and get medical advice;
- `outcome = "dose_given"`: a dose figure or range is spoken;
- `outcome = "screen"`: the skill asks its screening question (`screen.ask`) and speaks no dose;
- `outcome = "extra_dose"`: the skill answers a second dose taken (`dose.extra_taken`) and speaks no dose;
- an expected intent and slots: the skill gives the answer it gives to exactly that request in the same
  context (so "and threonate?" may reach any intent, as long as the person hears the right thing).
`tests/phrasebank/heldout.toml` is only ever scored: never read it to write samples.

Besides accuracy, each half reports how brief the answers are at night: the median and 90th percentile
of the words spoken, and `asks_for_more`, the share of answers that keep the session open and end on a
question.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from skill.builder import build_skill
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill_tools.paths import MODEL_FILE, default_model_dir
from skill_tools.simulator.device import DeviceNLU
from skill_tools.simulator.dialog import load_slot_samples
from skill_tools.simulator.envelopes import RequestFactory
from skill_tools.simulator.nlu import FALLBACK_INTENT, Resolution, Resolver, SlotMatch
from skill_tools.simulator.session import Simulator

BANK = Path(__file__).resolve().parent.parent / "tests" / "phrasebank"
# Content keys that speak a dose figure or a dose range: a gated answer says none of them.
DOSE_KEYS = frozenset({
    "dose.general", "dose.low", "dose.everyday", "dose.between", "dose.deficient", "dose.converted",
    "dose.upper_limit", "elemental.converted", "routine.dose.yours", "label.if_compound", "dose.general.more",
})
# The gate's answers, including those to the screening question ("then ask your doctor or pharmacist").
# The fallback's first line sends anyone who may have named their health to a doctor or pharmacist (fail closed).
SENDS_TO_DOCTOR = ("gate.", "safety.", "symptom.warning", "screen.yes", "screen.unsure", "fallback.unheard")
DONT_KNOW = frozenset({"uncovered", "safety.other", "vitamin_d.no_amount"})
SCREEN_KEY = "screen.ask"
EXTRA_DOSE_KEY = "dose.extra_taken"
Mode = Literal["resolver", "device"]
MODES: tuple[Mode, ...] = ("resolver", "device")


@dataclass(frozen=True)
class Phrase:
    """One entry of the bank."""

    id: str
    text: str
    expect: dict[str, Any]
    context: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return self.id.rsplit("-", 1)[0]

    @property
    def health(self) -> bool:
        """A health mention: the answer must carry no dose."""
        return self.expect.get("outcome") in ("gated", "stop_and_advise") or (
            self.expect.get("intent") == "SafetyIntent" and "condition" in self.expect.get("slots", {}))


@dataclass
class Scored:
    """How one phrase went."""

    phrase: Phrase
    intent: str
    keys: list[str]
    right: bool
    dose_spoken: bool
    wanted: list[str] = field(default_factory=list)
    speech: str = ""  # what the skill said, as plain text
    ended: bool = True  # whether the answer closed the session

    @property
    def words(self) -> int:
        return len(self.speech.split())

    @property
    def asks_for_more(self) -> bool:
        """The answer keeps the session open and its last sentence is a question."""
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", self.speech.strip()) if s]
        return not self.ended and bool(sentences) and sentences[-1].rstrip("\"')”’ ").endswith("?")


def load(path: Path) -> list[Phrase]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Phrase(p["id"], p["text"], dict(p["expect"]), tuple(p.get("context", ()))) for p in data["phrase"]]


def locale_of(path: Path) -> str:
    """The market a half was written in (its top-level `locale`); the rounds before markets are en-US."""
    return str(tomllib.loads(path.read_text(encoding="utf-8")).get("locale", "en-US"))


class Scorer:
    """Runs phrases through the resolver (or the device-mode understanding) and the real skill, offline."""

    def __init__(self, model_dir: Path | None = None, mode: Mode = "resolver", locale: str = "en-US") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.locale = locale  # the market: its model hears, and its requests carry its locale
        model_file = (model_dir or default_model_dir()) / MODEL_FILE.with_name(f"{locale}.json")
        # DeviceNLU presents the interface the Simulator uses from Resolver (split_invocation, resolve,
        # custom_value, invocation_name); the Simulator is typed for Resolver, hence the cast.
        self.resolver = Resolver.from_model(model_file) if mode == "resolver" else cast(Resolver, DeviceNLU.from_model(model_file))
        self.slot_samples = load_slot_samples(model_file)
        language = json.loads(model_file.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
        self.declared = {i["name"]: {s["name"]: s["type"] for s in i.get("slots", [])} for i in language["intents"]}
        self.names = {t["name"]: {v["id"]: v["name"]["value"] for v in t["values"]} for t in language.get("types", [])}
        self.heard: list[str] = []
        self.context_closed = False  # whether a context turn of the phrase being scored ended its session
        settings = Settings(_env_file=None, persistence="none", alexa_api=False, seed=1)  # type: ignore[call-arg]
        self.runner = SkillRunner(build_skill(settings, on_say=self.heard.append))

    def _simulator(self) -> Simulator:
        return Simulator(self.runner.invoke, self.resolver, RequestFactory(locale=self.locale), self.slot_samples)

    def _in_context(self, phrase: Phrase) -> Simulator:
        sim = self._simulator()
        self.context_closed = False
        for said in phrase.context:
            self.context_closed = sim.say(said).ended or self.context_closed
        return sim

    def _expected(self, intent: str, slots: dict[str, str]) -> Resolution:
        declared = self.declared.get(intent, {})
        filled = {}
        for name, value in slots.items():
            slot_type = declared.get(name)
            if slot_type is None:
                continue
            if slot_type.startswith("AMAZON."):
                filled[name] = SlotMatch(name, value, slot_type, None, None)
            else:
                spoken = self.names.get(slot_type, {}).get(value, value)
                filled[name] = SlotMatch(name, spoken, slot_type, value, spoken)
        return Resolution(intent, filled, 1.0, None, declared)

    def score(self, phrase: Phrase) -> Scored:
        sim = self._in_context(phrase)
        # A complete one-shot answer ends its session, and a new session knows nothing of the one before
        # (nothing about health is kept): a mention said there is met by the screening question here.
        mention_forgotten = self.context_closed
        start = len(self.heard)
        turn = sim.say(phrase.text)
        keys = self.heard[start:]
        intent = turn.resolution.intent if turn.resolution else "?"
        dose_spoken = bool(DOSE_KEYS & set(keys))
        expect = phrase.expect
        outcome = expect.get("outcome")

        def scored(right: bool, wanted: list[str] | None = None) -> Scored:
            return Scored(phrase, intent, keys, right, dose_spoken, wanted or [], turn.speech, turn.ended)

        if expect.get("intent") == "UncoveredIntent" or outcome == "dont_know":
            return scored(bool(DONT_KNOW & set(keys)) and not dose_spoken)
        if outcome == "gated":
            screened = mention_forgotten and keys == [SCREEN_KEY]
            return scored((screened or any(k.startswith(SENDS_TO_DOCTOR) for k in keys)) and not dose_spoken)
        if outcome == "stop_and_advise":
            return scored("symptom.warning" in keys and not dose_spoken)
        if outcome == "dose_given":
            return scored(dose_spoken)
        if outcome == "screen":
            return scored(SCREEN_KEY in keys and not dose_spoken)
        if outcome == "extra_dose":
            return scored(EXTRA_DOSE_KEY in keys and not dose_spoken)
        wanted_intent, wanted_slots = expect["intent"], {k: str(v) for k, v in expect.get("slots", {}).items()}
        # What the skill says to exactly the expected request, in the same context.
        reference = self._in_context(phrase)
        start = len(self.heard)
        reference.send(self._expected(wanted_intent, wanted_slots), phrase.text)
        wanted = self.heard[start:]
        right = keys == wanted
        if phrase.health:
            right = right and not dose_spoken
        return scored(right, wanted)


@dataclass
class Report:
    """The figures for one half of the bank."""

    name: str
    results: list[Scored]
    mode: str = "resolver"

    @property
    def accuracy(self) -> float:
        return sum(r.right for r in self.results) / max(1, len(self.results))

    @property
    def health(self) -> tuple[int, int]:
        mentions = [r for r in self.results if r.phrase.health]
        return sum(not r.dose_spoken for r in mentions), len(mentions)

    @property
    def in_domain_fallback(self) -> float:
        in_domain = [r for r in self.results if r.phrase.expect.get("intent") != FALLBACK_INTENT]
        return sum(r.intent == FALLBACK_INTENT for r in in_domain) / max(1, len(in_domain))

    @property
    def words(self) -> tuple[float, int]:
        """Median and 90th percentile (nearest rank) of the words spoken per answer."""
        counts = sorted(r.words for r in self.results)
        if not counts:
            return 0.0, 0
        return float(statistics.median(counts)), counts[max(0, math.ceil(0.9 * len(counts)) - 1)]

    @property
    def asks_for_more(self) -> float:
        return sum(r.asks_for_more for r in self.results) / max(1, len(self.results))

    def summary(self) -> dict[str, Any]:
        gated, mentions = self.health
        median, p90 = self.words
        by_category: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.results:
            by_category[r.phrase.category]["right" if r.right else "wrong"] += 1
        return {
            "half": self.name,
            "mode": self.mode,
            "phrases": len(self.results),
            "right": sum(r.right for r in self.results),
            "accuracy": round(self.accuracy, 3),
            "health_mentions_without_a_dose": f"{gated}/{mentions}",
            "in_domain_fallback": round(self.in_domain_fallback, 3),
            "words_median": median,
            "words_p90": p90,
            "asks_for_more": round(self.asks_for_more, 3),
            "by_category": {k: dict(v) for k, v in sorted(by_category.items())},
        }


def score_file(path: Path, scorer: Scorer | None = None) -> Report:
    scorer = scorer or Scorer(locale=locale_of(path))
    if scorer.locale != locale_of(path):
        raise ValueError(f"{path.name} is written in {locale_of(path)}; this scorer hears {scorer.locale}")
    return Report(path.stem, [scorer.score(p) for p in load(path)], scorer.mode)


def describe_misses(results: Iterable[Scored]) -> list[str]:
    lines = []
    for r in results:
        if not r.right:
            context = f" (after {list(r.phrase.context)})" if r.phrase.context else ""
            lines.append(f"{r.phrase.id}: {r.phrase.text!r}{context} -> {r.intent} {r.keys[:3]}; wanted "
                         f"{r.phrase.expect} {r.wanted[:3]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m skill_tools.phrasebank [dev|probes|heldout|devN|heldoutN ...] [--mode resolver|device|both] [--misses]`:
    score the halves of the bank, one JSON line per half and mode."""
    parser = argparse.ArgumentParser(prog="python -m skill_tools.phrasebank", description=main.__doc__)
    parser.add_argument("halves", nargs="*", default=["dev", "heldout"], help="dev, probes, heldout, devN / heldoutN for round N (2 and up), or dev_<locale> / devN_<locale> / heldout_<locale> / heldoutN_<locale> for a market")
    parser.add_argument("--misses", action="store_true", help="list the phrases answered wrongly (never the held-out's)")
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both",
                        help="resolver: the offline resolver's hand rules; device: the interaction model alone, as a device")
    args = parser.parse_args(argv)
    modes: tuple[Mode, ...] = MODES if args.mode == "both" else (cast(Mode, args.mode),)
    scorers: dict[tuple[Mode, str], Scorer] = {}
    for half in args.halves:
        path = BANK / f"{half}.toml"
        for mode in modes:
            key = (mode, locale_of(path))
            scorer = scorers[key] = scorers.get(key) or Scorer(mode=mode, locale=key[1])
            report = score_file(path, scorer)
            print(json.dumps(report.summary(), indent=None if not args.misses else 2), flush=True)
            # The held-out half is scored, never studied: its misses are not printed.
            if args.misses and not half.startswith("heldout"):
                print("\n".join(describe_misses(report.results)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
