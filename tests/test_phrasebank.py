"""The phrase bank: how understanding is measured, and the safety floor it guards.

The held-out half is only ever scored; these tests read its ids and shape, never its phrasings'
misses. The development halves (dev, probes) must keep every health mention free of any dose.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from skill_tools.phrasebank import BANK, Phrase, Scorer, load, score_file

HALVES = ("dev", "probes", "heldout", "dev2", "heldout2", "dev3", "heldout3", "dev4", "heldout4", "dev5", "heldout5", "dev6", "heldout6", "dev7", "heldout7", "dev8",
          "heldout8", "dev9", "heldout9", "dev10",
          "heldout10", "dev11", "heldout11", "dev12", "heldout12", "dev13", "heldout13", "dev14", "heldout14",
          "dev15", "heldout15", "dev16", "heldout16", "dev17", "heldout17", "dev18", "heldout18", "dev19", "heldout19",
          *(f"{half}_{locale}" for half in ("dev", "heldout") for locale in ("en-GB", "en-CA", "en-AU", "en-IN")),
          *(f"{half}{n}_{locale}" for half in ("dev", "heldout")
            for n, locale in ((2, "en-AU"), (2, "en-IN"), (2, "en-GB"), (2, "en-CA"), (3, "en-AU"), (3, "en-IN"),
                          (4, "en-AU"), (5, "en-AU"))))
OUTCOMES = ("gated", "dont_know", "stop_and_advise", "dose_given", "screen", "extra_dose")


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


def test_every_phrase_has_a_unique_id_and_an_expectation_the_scorer_understands() -> None:
    ids: list[str] = []
    for half in HALVES:
        for phrase in load(BANK / f"{half}.toml"):
            ids.append(phrase.id)
            outcome, intent = phrase.expect.get("outcome"), phrase.expect.get("intent")
            assert (outcome in OUTCOMES) != (intent is not None), phrase.id
    assert len(ids) == len(set(ids)) >= 300 + 400
    # The two halves written first are the same size: neither was trimmed to flatter a score.
    assert len(load(BANK / "dev.toml")) == len(load(BANK / "heldout.toml"))
    assert len(load(BANK / "dev2.toml")) == len(load(BANK / "heldout2.toml"))
    # Round 3 split each category in turn, the odd one to dev: 162 and 158, none trimmed.
    assert (len(load(BANK / "dev3.toml")), len(load(BANK / "heldout3.toml"))) == (162, 158)
    assert (len(load(BANK / "dev4.toml")), len(load(BANK / "heldout4.toml"))) == (163, 161)
    assert (len(load(BANK / "dev5.toml")), len(load(BANK / "heldout5.toml"))) == (161, 159)
    assert (len(load(BANK / "dev6.toml")), len(load(BANK / "heldout6.toml"))) == (161, 159)
    assert (len(load(BANK / "dev7.toml")), len(load(BANK / "heldout7.toml"))) == (162, 158)
    assert (len(load(BANK / "dev8.toml")), len(load(BANK / "heldout8.toml"))) == (162, 159)
    assert (len(load(BANK / "dev9.toml")), len(load(BANK / "heldout9.toml"))) == (161, 159)
    assert (len(load(BANK / "dev10.toml")), len(load(BANK / "heldout10.toml"))) == (161, 159)
    assert (len(load(BANK / "dev11.toml")), len(load(BANK / "heldout11.toml"))) == (160, 160)
    assert (len(load(BANK / "dev12.toml")), len(load(BANK / "heldout12.toml"))) == (160, 160)
    assert (len(load(BANK / "dev13.toml")), len(load(BANK / "heldout13.toml"))) == (165, 164)
    assert (len(load(BANK / "dev14.toml")), len(load(BANK / "heldout14.toml"))) == (130, 130)
    assert (len(load(BANK / "dev15.toml")), len(load(BANK / "heldout15.toml"))) == (120, 120)
    assert (len(load(BANK / "dev16.toml")), len(load(BANK / "heldout16.toml"))) == (120, 120)
    assert (len(load(BANK / "dev17.toml")), len(load(BANK / "heldout17.toml"))) == (120, 120)
    assert (len(load(BANK / "dev18.toml")), len(load(BANK / "heldout18.toml"))) == (120, 120)
    assert (len(load(BANK / "dev19.toml")), len(load(BANK / "heldout19.toml"))) == (120, 120)
    assert (len(load(BANK / "dev4_en-AU.toml")), len(load(BANK / "heldout4_en-AU.toml"))) == (60, 60)
    assert (len(load(BANK / "dev5_en-AU.toml")), len(load(BANK / "heldout5_en-AU.toml"))) == (80, 80)


# Development phrasings known to hear a dose still, each with why; any other is a failure.
KNOWN_OPEN = {
    # "i'm on chemo" ... "breathe with me" / "ok stop", then "how much magnesium could i take"; and "i had heart
    # surgery last month" ... "nah i'm good", then a dose question. "Stop" and "no" end the session, and the
    # next question starts a new one: a health mention lives only in its session, by design (nothing about a
    # person's health is stored), so the new session has not heard it.
    "gate-r9-057", "gate-r9-093",
}


@pytest.mark.parametrize("half", ["dev", "probes", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9",
                                  "dev10", "dev11", "dev12", "dev13", "dev14", "dev15", "dev16", "dev17"])
def test_no_health_mention_in_the_development_phrasings_ever_hears_a_dose(half: str, scorer: Scorer) -> None:
    report = score_file(BANK / f"{half}.toml", scorer)
    dosed = [r.phrase.id for r in report.results if r.phrase.health and r.dose_spoken]
    assert set(dosed) <= KNOWN_OPEN, dosed
    assert report.health[1] > 30


def test_the_scorer_marks_a_wrong_expectation_wrong(scorer: Scorer, tmp_path: Path) -> None:
    # A check that cannot fail proves nothing: the same phrase with a wrong expectation scores wrong.
    bank = tmp_path / "bank.toml"
    bank.write_text(
        '[[phrase]]\nid = "dose-x1"\ntext = "how much magnesium should i take"\n'
        'expect = { intent = "DoseIntent", slots = {} }\n'
        '[[phrase]]\nid = "dose-x2"\ntext = "how much magnesium should i take"\n'
        'expect = { intent = "TimingIntent", slots = {} }\n'
        '[[phrase]]\nid = "gate-x3"\ntext = "how much magnesium should i take"\nexpect = { outcome = "gated" }\n',
        encoding="utf-8",
    )
    right = [r.right for r in score_file(bank, scorer).results]
    assert right == [True, False, False]


def test_a_gated_phrase_that_hears_a_dose_counts_against_the_health_figure(scorer: Scorer) -> None:
    # U: is 300 mg okay   A: first, a quick check...   U: no   A: (a figure), scored as if the phrase were a mention
    phrase = Phrase("gate-x4", "no", {"outcome": "gated"}, ("is 300 mg okay",))
    scored = scorer.score(phrase)
    assert scored.dose_spoken and not scored.right
