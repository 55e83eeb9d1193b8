"""Every health mention, in every place it can be said, stops every dose path: a grid, not a list of examples.

Each health mention (medicines by brand and generic name, conditions, pregnancy, ages, vague ones) is said
before a dose question, after it in the same breath, a turn before it, and a turn after its answer, for
each way a dose is asked (how much, is N ok, a label, a missed night, a count of capsules). Each runs
through the offline resolver and the real skill. The adults beside them, who named no health fact,
get a dose: a gate that closed on everything would pass the first half alone.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.knowledge.markets import MARKETS
from skill_tools.phrasebank import Phrase, Scorer
from skill_tools.simulator.nlu import FALLBACK_INTENT

MENTIONS = (
    "i'm on eliquis", "i take xarelto every day", "i'm on levothyroxine", "i take amlodipine for my blood pressure",
    "i'm on lithium", "i take zoloft", "i'm on metformin", "i'm on ozempic", "i'm on digoxin", "i take keppra",
    "i'm on biktarvy", "i take alendronate once a week", "i take omeprazole", "i'm on doxycycline",
    "i'm on furosemide", "i'm on prednisone", "i'm on the pill", "i'm on tacrolimus after my transplant",
    "i have ckd stage three", "i have heart failure", "i have crohn's", "i have myasthenia gravis",
    "i had surgery last week", "i have epilepsy", "i'm pregnant", "i'm twenty weeks along", "we're trying for a baby",
    "i'm still nursing", "it's for my son he's nine", "it's for my fourteen year old", "i'm sixteen",
    "my daughter is in year eight", "it's for my toddler", "i have a few health issues", "i'm on a lot of meds",
    "i see a cardiologist", "my last blood test was off", "i'm on chemo", "i have an irregular heartbeat",
)
DOSE_QUESTIONS = (
    "how much magnesium should i take", "is 400 mg okay", "can i take 300 of glycinate",
    "my bottle says 500 mg per capsule how many should i take", "i forgot last night can i take double tonight",
    "what dose of threonate is right", "how many capsules a night",
)
# A second grid, written later: other names and ways to be unwell, and the other ways to a dose (saving an
# amount, reading a label, more after some already taken, two amounts to choose from).
MORE_MENTIONS = (
    "i take plavix", "i'm on depakote", "i'm on jardiance", "i'm on amiodarone", "i'm on truvada", "i take fosamax",
    "i'm on hydrocortisone", "i'm on humira", "i'm on dialysis", "i have angina", "i have seizures", "i have a stent",
    "i'm expecting twins", "we're doing ivf", "i'm breastfeeding my six month old", "my boy is twelve", "i'm fifteen",
    "he's in year ten", "i'm not very well", "i'm on several prescriptions", "my potassium was low",
    "i get low blood sugar", "my husband has kidney failure", "my mum's on warfarin", "my wife is pregnant",
    "i'm on tablets", "i take a pill every morning", "my nan's poorly",
)
MORE_DOSE_QUESTIONS = (
    "remember 400 mg of glycinate for me", "how much magnesium is in 500 mg of citrate", "can i take 2 capsules",
    "is a gram okay", "i took 600 earlier can i take more", "should i take 200 or 400",
)
# A third, after round 11: many voices. English as a second language, British, Irish and Indian English, a
# teenager, a carer; each was heard as no health mention at all before it was written.
VOICES = (
    "i am sugar patient", "i've got bp", "i get fits", "i am having sugar and bp both", "my mother she have kidney problem",
    "i am pregnancy two month", "my gp put me on ramipril", "i'm on me tablets for me heart", "i'm doing chemo right now",
    "my dad has dementia and he's on donepezil", "i used to be on lithium", "i'm 17 lol", "i take medicine for the sugar",
    "i'm a heart patient", "she's expecting", "my lad's in year nine", "my wee one's 6", "he is only small he is in primary school",
    "i'm 30 weeks", "i'm on sir tra lean", "i take lisa no pril", "she's on die a lysis", "i'm on pan toe pra zole",
    "i'm on a trial drug", "i've got a few health things going on", "i'm recovering from an op", "my bloods came back weird",
)
# The last is pushing back on the gate (round 13): after a health mention it is still a dose question, and gated.
VOICE_QUESTIONS = ("how many milligram i should take", "is 400 mg alright", "how much glycinate", "just give me a ballpark")
ADULTS = ("i'm forty five", "it's for my husband", "i'm a runner", "i'm fifty and healthy", "i'm twenty five",
          "it's for a grown man")


def placings(mention: str, question: str) -> list[tuple[tuple[str, ...], str]]:
    """The four places a mention is said: before, after, a turn before, a turn after the answer.

    The two-turn places are in a conversation the person opened: a one-shot ends after its answer, and a
    new session knows nothing of the one before (the screen meets it: tests/test_fail_closed.py).
    """
    opened = "open bedtime magnesium"
    return [((), f"{mention} {question}"), ((), f"{question} {mention}"), ((opened, mention), question),
            ((opened, question), f"oh and {mention}")]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


_MARKET_SCORERS: dict[str, Scorer] = {}


def market_scorer(locale: str) -> Scorer:
    """One scorer per market for the module: its model hears, its content answers."""
    if locale not in _MARKET_SCORERS:
        _MARKET_SCORERS[locale] = Scorer(locale=locale)
    return _MARKET_SCORERS[locale]


GRID = ([(question, MENTIONS) for question in DOSE_QUESTIONS] + [(question, MORE_MENTIONS) for question in MORE_DOSE_QUESTIONS]
        + [(question, VOICES) for question in VOICE_QUESTIONS])


@pytest.mark.parametrize(("question", "mentions"), GRID, ids=[q for q, _ in GRID])
def test_a_health_mention_anywhere_near_a_dose_question_hears_no_dose(scorer: Scorer, question: str,
                                                                      mentions: tuple[str, ...]) -> None:
    open_ = []
    for mention in mentions:
        for context, text in placings(mention, question):
            scored = scorer.score(Phrase("grid", text, {"outcome": "gated"}, context))
            if not scored.right:
                open_.append((context, text, scored.keys))
    assert not open_, open_


ROOT = Path(__file__).resolve().parent.parent


def language_model(locale: str) -> dict:  # type: ignore[type-arg]
    path = ROOT / "interaction_model" / "interactionModels" / "custom" / f"{locale}.json"
    return json.loads(path.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]


# Markets whose people say things en-US's model does not: their models differ, so the grid runs through
# them. A market that says what en-US says (the same language model) hears the grid as en-US does.
OWN_WORDS = sorted(locale for locale in MARKETS if locale != "en-US" and language_model(locale) != language_model("en-US"))


def test_a_market_left_out_of_the_grid_hears_exactly_what_en_us_hears() -> None:
    assert OWN_WORDS, "no market has words of its own: the grid below would run for none"
    for locale in set(MARKETS) - {"en-US", *OWN_WORDS}:
        assert language_model(locale) == language_model("en-US"), locale


@pytest.mark.parametrize("locale", OWN_WORDS)
@pytest.mark.parametrize(("question", "mentions"), GRID, ids=[q for q, _ in GRID])
def test_in_every_other_market_a_mention_in_the_same_breath_hears_no_dose(locale: str, question: str,
                                                                         mentions: tuple[str, ...]) -> None:
    # The same grid through each market's own model and content, in the two same-breath placings (the
    # two-turn placings run the same session logic, held for every market by tests/test_fail_closed.py).
    scorer = market_scorer(locale)
    open_ = [(text, scored.keys) for mention in mentions for _, text in placings(mention, question)[:2]
             if not (scored := scorer.score(Phrase("grid", text, {"outcome": "gated"}))).right]
    assert not open_, open_


@pytest.mark.parametrize("adult", ADULTS)
def test_an_adult_who_names_no_health_fact_gets_a_dose(scorer: Scorer, adult: str) -> None:
    for question in ("how much magnesium should i take", "is 400 mg okay", "what dose of threonate is right"):
        for text in (f"{adult} {question}", f"{question} {adult}"):
            # U: <the question>   A: first, a quick check...   U: no   A: the figure
            asked = scorer.score(Phrase("grid", text, {"intent": "DoseIntent"}))
            assert asked.keys == ["screen.ask"], (text, asked.keys)
            scored = scorer.score(Phrase("grid", "no", {"intent": "AMAZON.NoIntent"}, (text,)))
            assert scored.dose_spoken, (text, scored.keys)


# Said on its own, after any opener, a mention must be heard at all: a slot that holds it (a condition, an
# age, or a symptom, which gates as a warning sign), in an intent that is not Fallback.
SAID_ALONE = (
    "i'm on venlafaxine", "i take atenolol", "i'm on carbamazepine", "i take ramipril", "i'm on spironolactone",
    "i'm on mirtazapine", "i take quetiapine", "i'm on sitagliptin", "i'm on rivaroxaban", "i take propranolol",
    "i have copd", "i have sickle cell", "i have kidney stones", "i have a bad liver", "i'm six months pregnant",
    "i just had a baby and i'm feeding her myself", "my son's eleven", "she's only thirteen", "i'm diabetic",
    "i have an overactive thyroid", "i have low iron", "i'm anaemic", "i'm on steroids", "i've got bad kidneys",
    "i had a heart attack last year", "i take water tablets", "i'm on omeprazole for reflux",
)
OPENERS = ("", "oh and ", "also ", "by the way ", "just so you know ", "i should say ", "um ", "actually ")


def test_a_health_mention_said_on_its_own_after_any_opener_is_heard(scorer: Scorer) -> None:
    resolver = scorer.resolver
    unheard = []
    for mention in (*MENTIONS, *MORE_MENTIONS, *SAID_ALONE, *VOICES):
        for opener in OPENERS:
            res = resolver.resolve(opener + mention)
            if res.intent == FALLBACK_INTENT or not {"condition", "age", "symptom"} & set(res.slots):
                unheard.append((opener + mention, res.intent, sorted(res.slots)))
    assert not unheard, unheard
