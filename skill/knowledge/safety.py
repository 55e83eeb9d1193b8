"""The one safety gate every dose answer passes through (A9.3, A11, S2, S3, S4)."""
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# Above this many milligrams of elemental magnesium a day, only a doctor should set the dose (A9.3).
DOCTOR_ONLY_ABOVE_MG = 800


class Condition(StrEnum):
    """Something a person tells us about themselves that changes dose advice. Never stored."""

    KIDNEY = "kidney"
    PREGNANCY = "pregnancy"
    BREASTFEEDING = "breastfeeding"
    CHILD = "child"
    MEDICINES = "medicines"
    ANTIBIOTICS = "antibiotics"
    BISPHOSPHONATES = "bisphosphonates"
    DIURETICS = "diuretics"
    PPI = "ppi"


class Gate(StrEnum):
    """A reason to send a dose question to a doctor instead of answering it."""

    KIDNEY = "kidney"
    PREGNANCY = "pregnancy"
    CHILD = "child"
    MEDICINES = "medicines"
    OVER_800 = "over_800"


_GATE_FOR: dict[Condition, Gate] = {
    Condition.KIDNEY: Gate.KIDNEY,
    Condition.PREGNANCY: Gate.PREGNANCY,
    Condition.BREASTFEEDING: Gate.PREGNANCY,
    Condition.CHILD: Gate.CHILD,
    Condition.MEDICINES: Gate.MEDICINES,
    Condition.ANTIBIOTICS: Gate.MEDICINES,
    Condition.BISPHOSPHONATES: Gate.MEDICINES,
    Condition.DIURETICS: Gate.MEDICINES,
    Condition.PPI: Gate.MEDICINES,
}

# Word stems people use, checked in order; the first that appears in the phrase wins.
# Stems rather than a synonym list, so that "my kidneys", "renal failure" and "dialysis" all land.
_STEMS: tuple[tuple[str, Condition], ...] = (
    ("kidney", Condition.KIDNEY),
    ("renal", Condition.KIDNEY),
    ("dialysis", Condition.KIDNEY),
    ("breastfe", Condition.BREASTFEEDING),
    ("breast fe", Condition.BREASTFEEDING),
    ("nursing", Condition.BREASTFEEDING),
    ("pregnan", Condition.PREGNANCY),
    ("expecting", Condition.PREGNANCY),
    ("child", Condition.CHILD),
    ("kid", Condition.CHILD),
    ("son", Condition.CHILD),
    ("daughter", Condition.CHILD),
    ("teen", Condition.CHILD),
    ("toddler", Condition.CHILD),
    ("baby", Condition.CHILD),
    ("antibiotic", Condition.ANTIBIOTICS),
    ("cycline", Condition.ANTIBIOTICS),
    ("floxacin", Condition.ANTIBIOTICS),
    ("quinolone", Condition.ANTIBIOTICS),
    ("bisphosph", Condition.BISPHOSPHONATES),
    ("osteopor", Condition.BISPHOSPHONATES),
    ("alendron", Condition.BISPHOSPHONATES),
    ("fosamax", Condition.BISPHOSPHONATES),
    ("diuretic", Condition.DIURETICS),
    ("water pill", Condition.DIURETICS),
    ("proton", Condition.PPI),
    ("prazole", Condition.PPI),
    ("ppi", Condition.PPI),
    ("reflux", Condition.PPI),
    ("heartburn", Condition.PPI),
    ("medic", Condition.MEDICINES),
    ("pill", Condition.MEDICINES),
    ("prescription", Condition.MEDICINES),
    ("drug", Condition.MEDICINES),
    ("tablet", Condition.MEDICINES),
)


def parse_condition(raw: str | None) -> Condition | None:
    """Map a slot id or what a person said ("bad kidneys", "I'm expecting") to a condition."""
    if not raw:
        return None
    text = raw.strip().lower()
    try:
        return Condition(text)
    except ValueError:
        pass
    # "son" and "kid" must be whole words: "reason" and "kidney" are not children.
    words = set(text.replace("'", " ").split())
    for stem, condition in _STEMS:
        if stem in ("son", "kid", "kids"):
            if stem in words or f"{stem}s" in words:
                return condition
            continue
        if stem in text:
            return condition
    return None


def safety_gate(conditions: Iterable[Condition], elemental_mg: float | None = None) -> tuple[Gate, ...]:
    """Return every gate that applies, most serious first; empty means the dose may be discussed."""
    gates = {_GATE_FOR[c] for c in conditions}
    if elemental_mg is not None and elemental_mg > DOCTOR_ONLY_ABOVE_MG:
        gates.add(Gate.OVER_800)
    return tuple(g for g in Gate if g in gates)
