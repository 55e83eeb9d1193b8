"""The English-speaking Alexa markets: whose supplement figure each one names, and the facts it holds (U1-U5).

The request's locale picks the market. Everywhere the gate stays where A9.3 puts it (more than
800 mg needs a doctor); what changes is the limit sentence an answer gives beside the article's
200-400 mg, and the amount above which that sentence is said.
"""
from __future__ import annotations

from dataclasses import dataclass

BASE_LOCALE = "en-US"


@dataclass(frozen=True, slots=True)
class Market:
    """One market: its locale, the supplement amount its own authority names, and the U fact behind it."""

    locale: str
    limit_mg: int  # above this, an answer adds the market's limit sentence
    fact: str  # the U fact its limit sentence rests on
    # Facts its answers may cite besides its own U fact: S1 where the US figure is the one given.
    also: frozenset[str] = frozenset()


MARKETS: dict[str, Market] = {
    "en-US": Market("en-US", 350, "U5", frozenset({"S1"})),
    "en-GB": Market("en-GB", 400, "U1"),  # the NHS: 400 mg or less a day is unlikely to cause harm
    "en-AU": Market("en-AU", 350, "U2"),  # the NHMRC's adult upper level from supplements
    "en-CA": Market("en-CA", 350, "U3", frozenset({"S1"})),  # Health Canada uses the S1 level
    "en-IN": Market("en-IN", 350, "U4", frozenset({"S1"})),  # no Indian figure held: the US one, said as such
}
MARKET_FACTS = frozenset(market.fact for market in MARKETS.values())


def market_for(locale: str | None) -> Market:
    """The market of a locale; any other locale is answered as the base market (en-US)."""
    return MARKETS.get(locale or BASE_LOCALE) or MARKETS[BASE_LOCALE]


def may_cite(market: Market, fact: str) -> bool:
    """True when an answer in this market may rest on `fact`: any fact but another market's limit."""
    if fact in MARKET_FACTS:
        return fact == market.fact
    if fact == "S1":
        return "S1" in market.also
    return True
