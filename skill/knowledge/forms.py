"""Forms of magnesium: which suits which need (A10, A7.4) and how much magnesium each holds (S5)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Form(StrEnum):
    """A magnesium compound a person can buy."""

    GLYCINATE = "glycinate"
    THREONATE = "threonate"
    TAURATE = "taurate"
    CITRATE = "citrate"
    GLUCONATE = "gluconate"
    OROTATE = "orotate"
    OXIDE = "oxide"


class Need(StrEnum):
    """What a person wants magnesium to help with."""

    FALLING_ASLEEP = "falling_asleep"
    STRESS = "stress"
    MEMORY = "memory"
    CRAMPS = "cramps"
    SENSITIVE_STOMACH = "sensitive_stomach"


# Approximate share of elemental magnesium by weight (S5); gluconate is 5-6%, so the middle.
ELEMENTAL_SHARE: dict[Form, float] = {
    Form.OXIDE: 0.60,
    Form.CITRATE: 0.16,
    Form.GLYCINATE: 0.14,
    Form.TAURATE: 0.09,
    Form.THREONATE: 0.08,
    Form.OROTATE: 0.07,
    Form.GLUCONATE: 0.055,
}

_FORM_STEMS: tuple[tuple[str, Form], ...] = (
    ("glycin", Form.GLYCINATE),
    ("chelat", Form.GLYCINATE),
    ("threon", Form.THREONATE),
    ("magtein", Form.THREONATE),
    ("taur", Form.TAURATE),
    ("citr", Form.CITRATE),
    ("glucon", Form.GLUCONATE),
    ("orot", Form.OROTATE),
    ("oxid", Form.OXIDE),
)

_NEED_STEMS: tuple[tuple[str, Need], ...] = (
    ("stomach", Need.SENSITIVE_STOMACH),
    ("diarr", Need.SENSITIVE_STOMACH),
    ("gentle", Need.SENSITIVE_STOMACH),
    ("gut", Need.SENSITIVE_STOMACH),
    ("cramp", Need.CRAMPS),
    ("restless", Need.CRAMPS),
    ("leg", Need.CRAMPS),
    ("muscle", Need.CRAMPS),
    ("memor", Need.MEMORY),
    ("anxi", Need.MEMORY),
    ("focus", Need.MEMORY),
    ("fog", Need.MEMORY),
    ("worr", Need.MEMORY),
    ("brain", Need.MEMORY),
    ("stress", Need.STRESS),
    ("tension", Need.STRESS),
    ("tense", Need.STRESS),
    ("wired", Need.STRESS),
    ("asleep", Need.FALLING_ASLEEP),
    ("sleep", Need.FALLING_ASLEEP),
    ("racing", Need.FALLING_ASLEEP),
    ("overthink", Need.FALLING_ASLEEP),
    ("insomnia", Need.FALLING_ASLEEP),
)

# Which form the article points each need at, first choice first (A10.1-A10.4, A7.4).
FORMS_FOR_NEED: dict[Need, tuple[Form, ...]] = {
    Need.FALLING_ASLEEP: (Form.GLYCINATE, Form.THREONATE),
    Need.STRESS: (Form.TAURATE, Form.GLYCINATE),
    Need.MEMORY: (Form.THREONATE,),
    Need.CRAMPS: (Form.GLYCINATE,),
    Need.SENSITIVE_STOMACH: (Form.GLYCINATE, Form.TAURATE, Form.CITRATE),
}


def _by_stem(raw: str | None, table: tuple[tuple[str, StrEnum], ...], enum: type[StrEnum]) -> StrEnum | None:
    if not raw:
        return None
    text = raw.strip().lower()
    try:
        return enum(text)
    except ValueError:
        pass
    for stem, value in table:
        if stem in text:
            return value
    return None


def parse_form(raw: str | None) -> Form | None:
    """Map a slot id or a label name ("magnesium bisglycinate chelate") to a form."""
    found = _by_stem(raw, _FORM_STEMS, Form)
    return Form(found) if found else None


def parse_need(raw: str | None) -> Need | None:
    """Map a slot id or a phrase ("my racing mind", "leg cramps") to a need."""
    found = _by_stem(raw, _NEED_STEMS, Need)
    return Need(found) if found else None


def elemental_mg(compound_mg: float, form: Form) -> float:
    """Estimate the magnesium in a compound weight, as a label's compound figure would give it (S5)."""
    return compound_mg * ELEMENTAL_SHARE[form]


@dataclass(frozen=True, slots=True)
class FormAdvice:
    """Which forms suit a need; `need` is None for the general 'which form' question."""

    need: Need | None
    forms: tuple[Form, ...]

    @property
    def first(self) -> Form:
        return self.forms[0]


def advise_form(need: Need | None) -> FormAdvice:
    """Answer 'which magnesium should I take' for a need, or in general (glycinate first for sleep)."""
    if need is None:
        return FormAdvice(None, (Form.GLYCINATE, Form.THREONATE, Form.TAURATE))
    return FormAdvice(need, FORMS_FOR_NEED[need])
