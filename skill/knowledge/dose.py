"""How much magnesium: the article's tiers (A9), the supplement upper limit (S1), and the gate."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from skill.knowledge.forms import Form, elemental_mg
from skill.knowledge.safety import DOCTOR_ONLY_ABOVE_MG, Condition, Gate, safety_gate

# The adult upper limit for magnesium from supplements and medicines (S1), the lowest market limit (U1-U5): whether the two readings of a label fall either side of it is one of
# the things that decide whether the skill asks which line the label shows. Each market's own is in markets.py.
SUPPLEMENT_UPPER_LIMIT_MG = 350
# No supplement label or daily habit comes near this; a bigger number is a mishearing.
IMPLAUSIBLE_ABOVE_MG = 20_000


class Label(StrEnum):
    """Which line of a supplement label a figure came from (S5): the compound's weight or the magnesium."""

    UNKNOWN = "unknown"
    COMPOUND = "compound"
    ELEMENTAL = "elemental"


class Tier(StrEnum):
    """Where a daily amount falls; GATED means the answer is 'ask your doctor'."""

    GENERAL = "general"  # no amount named: the ranges themselves
    INVALID = "invalid"  # zero, negative, not a number, or implausibly large
    LOW = "low"  # under 200 mg
    EVERYDAY = "everyday"  # 200-400 mg (A9.1)
    BETWEEN = "between"  # above 400, below 600
    DEFICIENT = "deficient"  # 600-800 mg (A9.2)
    GATED = "gated"  # a safety gate applies, including more than 800 mg (A9.3)


@dataclass(frozen=True, slots=True)
class DoseAdvice:
    """The decision behind a dose answer; the voice layer turns it into sentences."""

    tier: Tier
    gates: tuple[Gate, ...] = ()
    stated_mg: float | None = None  # what the person said, in mg
    elemental_mg: float | None = None  # the magnesium the answer is about (the larger reading when unsure)
    form: Form | None = None
    label: Label = Label.UNKNOWN
    # With a form named and the label line unknown: the magnesium if the figure is the compound's weight.
    if_compound_mg: float | None = None
    # True when the two readings of the label would change the advice, so the skill asks which it is.
    label_matters: bool = False

    @property
    def converted(self) -> bool:
        """True when the figure was converted from a compound's weight (S5)."""
        return self.label is Label.COMPOUND and self.form is not None and self.stated_mg is not None \
            and self.tier is not Tier.INVALID


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


def amount_for_the_day(amount_mg: float | None, *, count: int | None = None, times: int = 1,
                       also_mg: float | None = None, or_mg: float | None = None) -> float | None:
    """The day's amount a person means when they say several numbers at once, for the gate and the tier.

    "four 250 mg capsules" is 1000; "500 twice a day" is 1000; "600 in the morning and 600 at night"
    is 1200; "800 or 1000" is judged by 1000, so a choice is never answered by its safer half. An
    unreadable number anywhere (NaN) leaves the whole unreadable.
    """
    if amount_mg is None:
        return None
    per_dose = amount_mg * count if count else amount_mg
    total = per_dose * max(1, times) + (also_mg if also_mg is not None else 0.0)
    if or_mg is not None:
        total = or_mg if math.isnan(or_mg) or or_mg > total else total
    return total


def _tier_for(elemental: float) -> Tier:
    if elemental < 200:
        return Tier.LOW
    if elemental <= 400:
        return Tier.EVERYDAY
    if elemental < 600:
        return Tier.BETWEEN
    return Tier.DEFICIENT  # up to 800; above that the gate has already answered


def _verdict(elemental: float) -> tuple[Tier | bool, bool]:
    """What an amount of magnesium means for the answer: its tier (or over 800), and over the S1 limit."""
    over = elemental > SUPPLEMENT_UPPER_LIMIT_MG
    return (True if elemental > DOCTOR_ONLY_ABOVE_MG else _tier_for(elemental)), over


def assess_dose(
    amount_mg: float | None = None,
    form: Form | None = None,
    conditions: Iterable[Condition] = (),
    label: Label = Label.UNKNOWN,
) -> DoseAdvice:
    """Assess a daily amount (or none) for a person; every dose answer starts here.

    The gate runs first and wins: with kidney disease, pregnancy, a child, regular medicines or any
    other health mention there is no tier talk at all, whatever the amount.

    "300 mg of glycinate" may be the compound's weight or the magnesium in it. Unless the person
    said which, the gate, the upper limit and the tier use the reading that gives more magnesium,
    so a guess never nudges anyone to take more; `label_matters` says when the other reading
    would change the answer, so the skill can ask which line the label shows.
    """
    conditions = tuple(conditions)
    valid = amount_mg is not None and math.isfinite(amount_mg) and 0 < amount_mg <= IMPLAUSIBLE_ABOVE_MG
    elemental: float | None = None
    if_compound: float | None = None
    if valid:
        assert amount_mg is not None
        elemental = elemental_mg(amount_mg, form) if form and label is Label.COMPOUND else amount_mg
        if form and label is Label.UNKNOWN:
            if_compound = elemental_mg(amount_mg, form)
    matters = if_compound is not None and elemental is not None and _verdict(if_compound) != _verdict(elemental)

    gates = safety_gate(conditions, elemental)
    if gates:
        return DoseAdvice(Tier.GATED, gates, amount_mg if valid else None, elemental, form, label, if_compound, matters)
    if amount_mg is None:
        return DoseAdvice(Tier.GENERAL, form=form)
    if not valid or elemental is None:
        return DoseAdvice(Tier.INVALID, stated_mg=None, form=form)
    return DoseAdvice(_tier_for(elemental), (), amount_mg, elemental, form, label, if_compound, matters)
