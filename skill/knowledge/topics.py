"""The smaller vocabularies people use: mechanisms, units, symptoms, foods, and topics the sources leave open."""
from __future__ import annotations

from enum import StrEnum


class Mechanism(StrEnum):
    """The four ways the article says magnesium acts on sleep (A7.1-A7.4)."""

    GABA = "gaba"
    MELATONIN = "melatonin"
    CORTISOL = "cortisol"
    CRAMPS = "cramps"


class Unit(StrEnum):
    """How an amount was said."""

    MG = "mg"
    G = "g"


class Symptom(StrEnum):
    """Something a person feels after taking magnesium."""

    STOMACH = "stomach"
    DIARRHOEA = "diarrhoea"
    NAUSEA = "nausea"
    DIZZINESS = "dizziness"
    WEAKNESS = "weakness"
    HEARTBEAT = "heartbeat"
    BLOOD_PRESSURE = "blood_pressure"
    OTHER = "other"  # trouble breathing, a tight chest, a rash, confusion: S3 names signs "such as", not all


# A complaining stomach is the common, mild effect the article answers with a lower or split dose
# (A9.2, A10.1); the rest are the signs of too much in S3, answered with "stop and get advice" (T5).
MILD_SYMPTOMS = frozenset({Symptom.STOMACH, Symptom.DIARRHOEA})


def is_warning_sign(symptom: Symptom | None) -> bool:
    """True for anything but a complaining stomach: a symptom the skill does not know is a warning too."""
    return symptom not in MILD_SYMPTOMS


class Times(StrEnum):
    """How many times a day a dose is taken ("twice a day", "morning and night"): the day's amount multiplies."""

    TWO = "two"
    THREE = "three"
    FOUR = "four"

    @property
    def per_day(self) -> int:
        return {"two": 2, "three": 3, "four": 4}[self.value]


class Food(StrEnum):
    """Foods people ask about. The sources name no single food's magnesium (A8 speaks of vegetables,
    nuts and refined grains), so every one gets the same honest answer; the groups only keep the
    model's word lists readable. White rice and bread are no values: A8 speaks to them, and the
    general food answer says so."""

    FRUIT = "fruit"
    NUTS_SEEDS = "nuts_seeds"
    VEGETABLES = "vegetables"
    GRAINS_BEANS = "grains_beans"
    OTHER_FOOD = "other_food"


class Uncovered(StrEnum):
    """Questions next to the skill's subject that its sources do not cover (T6): an honest "I don't know"."""

    ZINC = "zinc"
    CALCIUM = "calcium"
    MELATONIN_PILLS = "melatonin_pills"
    ALCOHOL = "alcohol"
    FOOD = "food"
    OTHER_SUPPLEMENTS = "other_supplements"
    BRANDS = "brands"
    OTHER_SLEEP_AIDS = "other_sleep_aids"  # weighted blankets, white noise machines: sleep aids that are not magnesium
    OTHER_CONDITIONS = "other_conditions"  # migraines, blood sugar, hot flashes: not in the sources
