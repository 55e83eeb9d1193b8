"""The knowledge layer answers as data, with no request envelope at all."""
from __future__ import annotations

import math

import pytest

from skill.knowledge import Condition, Form, Need, Tier, advise_form, assess_dose, elemental_mg, parse_amount
from skill.knowledge.markets import MARKET_FACTS, market_for, may_cite
from skill.knowledge import parse_condition, parse_form, parse_need


@pytest.mark.parametrize(
    ("mg", "tier"),
    [(100, Tier.LOW), (200, Tier.EVERYDAY), (400, Tier.EVERYDAY), (450, Tier.BETWEEN), (600, Tier.DEFICIENT),
     (800, Tier.DEFICIENT), (800.5, Tier.GATED), (0, Tier.INVALID), (-1, Tier.INVALID), (50_000, Tier.INVALID)],
)
def test_the_article_tiers(mg: float, tier: Tier) -> None:
    assert assess_dose(mg).tier is tier


def test_no_amount_is_the_general_answer() -> None:
    assert assess_dose(None).tier is Tier.GENERAL


@pytest.mark.parametrize(("locale", "limit", "fact"), [("en-US", 350, "U5"), ("en-GB", 400, "U1"), ("en-AU", 350, "U2"),
                                                       ("en-CA", 350, "U3"), ("en-IN", 350, "U4"), ("fr-FR", 350, "U5")])
def test_each_market_has_its_own_limit_and_any_other_locale_is_the_base_market(locale: str, limit: int, fact: str) -> None:
    market = market_for(locale)
    assert (market.limit_mg, market.fact) == (limit, fact)
    # Its answers may cite its own U fact, never another market's.
    assert may_cite(market, fact) and not any(may_cite(market, other) for other in MARKET_FACTS - {fact})


@pytest.mark.parametrize(
    ("form", "compound", "magnesium"),
    [(Form.GLYCINATE, 1000, 140), (Form.CITRATE, 1000, 160), (Form.OXIDE, 500, 300), (Form.THREONATE, 2000, 160)],
)
def test_label_weight_to_elemental_magnesium(form: Form, compound: float, magnesium: float) -> None:
    assert elemental_mg(compound, form) == pytest.approx(magnesium)


def test_amounts_in_grams_milligrams_and_nonsense() -> None:
    assert parse_amount("2", "grams") == 2000
    assert parse_amount("300", "mg") == 300
    assert parse_amount("1,000", None) == 1000
    assert parse_amount(None) is None
    assert math.isnan(parse_amount("?"))  # type: ignore[arg-type]
    assert assess_dose(parse_amount("lots")).tier is Tier.INVALID


def test_what_people_say_maps_to_forms_needs_and_conditions() -> None:
    assert parse_form("Magnesium Bisglycinate Chelate") is Form.GLYCINATE
    assert parse_form("magtein") is Form.THREONATE
    assert parse_form("chloride") is None
    assert parse_need("my racing mind") is Need.FALLING_ASLEEP
    assert parse_need("restless legs") is Need.CRAMPS
    assert parse_condition("I'm on dialysis") is Condition.KIDNEY
    assert parse_condition("my daughter") is Condition.CHILD
    assert parse_condition("the reason") is None  # "son" inside a word is not a child
    assert parse_condition("water pills") is Condition.DIURETICS


def test_glycinate_is_first_for_sleep_and_threonate_for_memory() -> None:
    assert advise_form(None).first is Form.GLYCINATE
    assert advise_form(Need.MEMORY).first is Form.THREONATE
    assert advise_form(Need.STRESS).first is Form.TAURATE
    assert Form.OXIDE not in advise_form(Need.SENSITIVE_STOMACH).forms
