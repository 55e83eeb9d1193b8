"""The numbered facts of shared/seed/facts.md that content entries cite."""
from __future__ import annotations

# Sub-facts are listed explicitly: a content entry cites the most precise id it rests on.
_SUBS = {"A5": 5, "A7": 4, "A9": 3, "A10": 5}

FACT_IDS: frozenset[str] = frozenset(
    [f"A{n}" for n in range(1, 15)]
    + [f"{parent}.{i}" for parent, count in _SUBS.items() for i in range(1, count + 1)]
    + [f"S{n}" for n in range(1, 9)]
    + [f"T{n}" for n in range(1, 8)]  # how to speak about timing and what the sources leave open
    + [f"U{n}" for n in range(1, 6)]  # each English market's limit and words
)


def is_fact_id(value: str) -> bool:
    """Serve the content validator: is this a fact the sheet defines?"""
    return value in FACT_IDS


def top_level(fact_id: str) -> str:
    """Serve coverage checks: A7.2 belongs to A7."""
    return fact_id.split(".", 1)[0]
