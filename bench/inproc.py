"""Section 1: one request envelope through the whole skill, in process, against the hello skill.

The skill is built as `make run` builds it (SQLite store in a temp dir, Alexa APIs off), with a
fixed clock so the routine says the same step on every run whatever the hour.
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import cases
from bench.hello import HelloRunner
from bench.measure import compare_loops, ratio

# 21:30 in New York: inside the routine's evening, so "next" reaches the dose step.
FIXED_NOW = datetime(2026, 11, 27, 2, 30, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Options:
    n: int = 300
    repeats: int = 5
    warmup: int = 30


class ErrorCounter(logging.Handler):
    """Counts ERROR records (the skill's exception handler logs every failure at ERROR)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def counting_errors() -> Iterator[ErrorCounter]:
    counter = ErrorCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    try:
        yield counter
    finally:
        root.removeHandler(counter)


def build_runner(data_dir: Path) -> Any:
    """The full skill with the SQLite default store, as one SkillRunner."""
    from skill.builder import build_skill
    from skill.profile.sqlite_store import SqlitePersistenceAdapter
    from skill.runtime import SkillRunner
    from skill.services import Services
    from skill.settings import Settings

    settings = Settings(
        _env_file=None, verify_signature=False, persistence="sqlite", data_dir=data_dir, alexa_api=False
    )
    services = Services(
        clock=lambda: FIXED_NOW, default_time_zone=settings.default_time_zone, alexa_api=settings.alexa_api
    )
    store = SqlitePersistenceAdapter(data_dir / "bedtime.sqlite3")
    return SkillRunner(build_skill(settings, persistence=store, services=services))


def conversation_cases(invoke: Callable[[cases.Envelope], dict[str, Any]]) -> dict[str, cases.Envelope]:
    """Every case in order, after saving a bedtime and entering the routine through `invoke`."""
    opening = cases.opening_cases()
    invoke(cases.set_bedtime())
    wind_down_answer = invoke(opening["routine_wind_down"])
    opening["routine_next"] = cases.routine_next(wind_down_answer)
    return {name: opening[name] for name in cases.CASE_ORDER}


def run(options: Options) -> dict[str, Any]:
    """Median µs per request of the skill and of hello for each case, and their ratio."""
    hello = HelloRunner()
    with tempfile.TemporaryDirectory(prefix="bench-inproc-") as tmp, counting_errors() as errors:
        skill = build_runner(Path(tmp))
        envelopes = conversation_cases(skill.invoke)
        results: dict[str, dict[str, float]] = {}
        for name, envelope in envelopes.items():
            answer = skill.invoke(envelope)
            if "outputSpeech" not in answer.get("response", {}):
                raise RuntimeError(f"in-process case {name!r}: the skill gave no speech: {answer.get('response')}")
            medians = compare_loops(
                {"skill": lambda e=envelope: skill.invoke(e), "hello": lambda e=envelope: hello.invoke(e)},
                n=options.n, repeats=options.repeats, warmup=options.warmup,
            )
            results[name] = {
                "skill_us": round(medians["skill"], 1),
                "hello_us": round(medians["hello"], 1),
                "ratio": round(ratio(medians["skill"], medians["hello"]), 2),
            }
        skill_total = sum(r["skill_us"] for r in results.values())
        hello_total = sum(r["hello_us"] for r in results.values())
        return {
            "n": options.n,
            "repeats": options.repeats,
            "warmup": options.warmup,
            "cases": results,
            # The mix: one of each case, as a person's evening might go.
            "mean": {
                "skill_us": round(skill_total / len(results), 1),
                "hello_us": round(hello_total / len(results), 1),
                "ratio": round(ratio(skill_total, hello_total), 2),
            },
            "errors": errors.count,
        }


def profile_target(n: int) -> Callable[[], None]:
    """A callable that sends every case n times through a fresh skill, for cProfile."""
    tmp = tempfile.TemporaryDirectory(prefix="bench-profile-")
    skill = build_runner(Path(tmp.name))
    envelopes = list(conversation_cases(skill.invoke).values())

    def go() -> None:
        try:
            for _ in range(n):
                for envelope in envelopes:
                    skill.invoke(envelope)
        finally:
            tmp.cleanup()

    return go
