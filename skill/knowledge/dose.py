"""How much magnesium: the article's tiers (A9), the supplement upper limit (S1), and the gate."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from skill.knowledge.forms import Form, elemental_mg
from skill.knowledge.safety import Condition, Gate, safety_gate

# The adult upper limit for magnesium from supplements and medicines (S1).
SUPPLEMENT_UPPER_LIMIT_MG = 350
# No supplement label or daily habit comes near this; a bigger number is a mishearing.
IMPLAUSIBLE_ABOVE_MG = 20_000


class Tier(StrEnum):
    """Where a daily amount falls; GATED means the answer is 'ask your doctor'."""

    GENERAL = "general"  # no amount named: the ranges themselves
    INVALID = "invalid"  # zero, negative, not a number, or implausibly large
    LOW = "low"  # under 200 mg
    EVERYDAY = "everyday"  # 200-400 mg (A9.1)
    BETWEEN = "between"  # above 400, below 600
    DEFICIENT = "deficient"  # 600-800 mg (A9.2)
    GATED = "gated"  # a safety gate applies, including more than 800 mg (A9.3)


@dataclass(frozen=True)
class DoseAdvice:
    """The decision behind a dose answer; the voice layer turns it into sentences."""

    tier: Tier
    gates: tuple[Gate, ...] = ()
    stated_mg: float | None = None  # what the person said, in mg
    elemental_mg: float | None = None  # magnesium itself, after converting a named compound
    form: Form | None = None

    @property
    def converted(self) -> bool:
        """True when the person named a compound, so the figure was converted (S5)."""
        return self.form is not None and self.stated_mg is not None and self.tier is not Tier.INVALID

    @property
    def above_upper_limit(self) -> bool:
        """True when the amount passes the 350 mg supplement limit (S1)."""
        return self.elemental_mg is not None and self.elemental_mg > SUPPLEMENT_UPPER_LIMIT_MG


def parse_amount(value: str | float | int | None, unit: str | None = None) -> float | None:
    """Turn a slot's number and unit into milligrams; None when nothing usable was said.

    Grams are "g", "gram" or "grams"; anything else (or no unit) means milligrams, which is how
    supplement labels and people state daily doses.
    """
    if value is None or value == "":
        return None
    # Alexa sends "?" when it heard a number it could not make out: said, but unusable.
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return math.nan
    unit_text = (unit or "").strip().lower()
    if unit_text in {"g", "gram", "grams", "gs"}:
        number *= 1000
    return number


def _tier_for(elemental: float) -> Tier:
    if elemental < 200:
        return Tier.LOW
    if elemental <= 400:
        return Tier.EVERYDAY
    if elemental < 600:
        return Tier.BETWEEN
    return Tier.DEFICIENT  # up to 800; above that the gate has already answered


def assess_dose(
    amount_mg: float | None = None,
    form: Form | None = None,
    conditions: Iterable[Condition] = (),
) -> DoseAdvice:
    """Assess a daily amount (or none) for a person; every dose answer starts here.

    The gate runs first and wins: with kidney disease, pregnancy, a child or regular medicines
    there is no tier talk at all, whatever the amount.
    """
    conditions = tuple(conditions)
    valid = amount_mg is not None and math.isfinite(amount_mg) and 0 < amount_mg <= IMPLAUSIBLE_ABOVE_MG
    elemental: float | None = None
    if valid:
        assert amount_mg is not None
        elemental = elemental_mg(amount_mg, form) if form else amount_mg

    gates = safety_gate(conditions, elemental)
    if gates:
        return DoseAdvice(Tier.GATED, gates, amount_mg if valid else None, elemental, form)
    if amount_mg is None:
        return DoseAdvice(Tier.GENERAL, form=form)
    if not valid or elemental is None:
        return DoseAdvice(Tier.INVALID, stated_mg=None, form=form)
    return DoseAdvice(_tier_for(elemental), (), amount_mg, elemental, form)
