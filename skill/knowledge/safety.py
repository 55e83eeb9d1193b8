"""The one safety gate every dose answer passes through (A9.3, A11, S2, S3, S4)."""
from __future__ import annotations

from collections.abc import Iterable
import re
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
    OLDER = "older"  # 65 or over: treated like the S4 groups (S7)
    # Any other health mention: a medicine, condition or age the skill does not recognise. The gate
    # fails closed, so it still sends the person to a doctor or pharmacist and never to a dose.
    OTHER = "other"


class Gate(StrEnum):
    """A reason to send a dose question to a doctor instead of answering it."""

    KIDNEY = "kidney"
    PREGNANCY = "pregnancy"
    CHILD = "child"
    MEDICINES = "medicines"
    OLDER = "older"
    OTHER = "other"
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
    Condition.OLDER: Gate.OLDER,
    Condition.OTHER: Gate.OTHER,
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
    ("elderly", Condition.OLDER),
    ("pensioner", Condition.OLDER),
    ("senior citizen", Condition.OLDER),
    ("over sixty five", Condition.OLDER),
    ("over 65", Condition.OLDER),
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
    # Regular medicines by class and common name (S2: ask a pharmacist or doctor). The classes the
    # sources name get their own ids above; these all gate as "medicines".
    ("blood pressure", Condition.MEDICINES),
    ("hypertension", Condition.MEDICINES),
    ("pril", Condition.MEDICINES),  # lisinopril, enalapril, ramipril
    ("sartan", Condition.MEDICINES),  # losartan, valsartan
    ("dipine", Condition.MEDICINES),  # amlodipine, nifedipine
    ("olol", Condition.MEDICINES),  # metoprolol, propranolol, atenolol
    ("beta block", Condition.MEDICINES),
    ("thyro", Condition.MEDICINES),  # levothyroxine, thyroid, hypothyroid
    ("synthroid", Condition.MEDICINES),
    ("blood thin", Condition.MEDICINES),
    ("warfarin", Condition.MEDICINES),
    ("coumadin", Condition.MEDICINES),
    ("apixaban", Condition.MEDICINES),
    ("eliquis", Condition.MEDICINES),
    ("xarelto", Condition.MEDICINES),
    ("rivaroxaban", Condition.MEDICINES),
    ("clopidogrel", Condition.MEDICINES),
    ("plavix", Condition.MEDICINES),
    ("anticoag", Condition.MEDICINES),
    ("lithium", Condition.MEDICINES),
    ("lamotrigine", Condition.MEDICINES),
    ("valpro", Condition.MEDICINES),
    ("depakote", Condition.MEDICINES),
    ("mood stabili", Condition.MEDICINES),
    ("antidepress", Condition.MEDICINES),
    ("ssri", Condition.MEDICINES),
    ("sertraline", Condition.MEDICINES),
    ("zoloft", Condition.MEDICINES),
    ("fluoxetine", Condition.MEDICINES),
    ("prozac", Condition.MEDICINES),
    ("citalopram", Condition.MEDICINES),  # and escitalopram
    ("lexapro", Condition.MEDICINES),
    ("paroxetine", Condition.MEDICINES),
    ("venlafaxine", Condition.MEDICINES),
    ("duloxetine", Condition.MEDICINES),
    ("bupropion", Condition.MEDICINES),
    ("wellbutrin", Condition.MEDICINES),
    ("trazodone", Condition.MEDICINES),
    ("mirtazapine", Condition.MEDICINES),
    ("metformin", Condition.MEDICINES),
    ("insulin", Condition.MEDICINES),
    ("ozempic", Condition.MEDICINES),
    ("semaglutide", Condition.MEDICINES),
    ("glipizide", Condition.MEDICINES),
    ("amiodarone", Condition.MEDICINES),
    ("digoxin", Condition.MEDICINES),
    ("statin", Condition.MEDICINES),
    ("xanax", Condition.MEDICINES),
    ("alprazolam", Condition.MEDICINES),
    ("lorazepam", Condition.MEDICINES),
    ("ativan", Condition.MEDICINES),
    ("diazepam", Condition.MEDICINES),
    ("valium", Condition.MEDICINES),
    ("clonazepam", Condition.MEDICINES),
    ("klonopin", Condition.MEDICINES),
    ("tramadol", Condition.MEDICINES),
    ("oxycodone", Condition.MEDICINES),
    ("codeine", Condition.MEDICINES),
    ("gabapentin", Condition.MEDICINES),
    ("pregabalin", Condition.MEDICINES),
    ("prednis", Condition.MEDICINES),
    ("steroid", Condition.MEDICINES),
    ("chemo", Condition.MEDICINES),
    ("lasix", Condition.DIURETICS),
    ("furosemide", Condition.DIURETICS),
    ("thiazide", Condition.DIURETICS),
    ("medic", Condition.MEDICINES),
    # Conditions the sources do not name: recognised as health mentions, so they gate (fail closed).
    ("condition", Condition.OTHER),
    ("heart", Condition.OTHER),
    ("diabet", Condition.OTHER),
    ("pacemaker", Condition.OTHER),
    ("epilep", Condition.OTHER),
    ("liver", Condition.OTHER),
    ("cancer", Condition.OTHER),
    ("crohn", Condition.OTHER),
    ("high blood", Condition.OTHER),
    ("surgery", Condition.OTHER),
    ("transplant", Condition.OTHER),
    ("operation", Condition.OTHER),
    ("pill", Condition.MEDICINES),
    ("prescription", Condition.MEDICINES),
    ("drug", Condition.MEDICINES),
    ("tablet", Condition.MEDICINES),
)


# Words that can land in a condition slot without being about health ("can I take it with food").
NOT_HEALTH = frozenset({
    "food", "a meal", "meals", "dinner", "breakfast", "lunch", "water", "milk", "juice", "coffee", "tea",
    "even", "it", "that", "this", "them", "magnesium", "sleep", "bed", "night", "tonight", "nothing", "none",
    "no", "nope", "not", "anything", "supplement", "a supplement", "supplements", "vitamins",
    # Another adult named with nothing about their health ("what about for my husband"): the adult answer.
    # Children are no such word: "my son", "my daughter" are conditions (S4), and so is any age under 18.
    "husband", "wife", "partner", "boyfriend", "girlfriend", "fiance", "fiancee", "mom", "mum", "mother",
    "dad", "father", "friend", "sister", "brother", "roommate", "flatmate", "colleague", "me", "myself",
    "age", "my age", "someone my age", "people my age", "him", "her", "he", "she", "us", "you",  # "how much for someone my age" (an adult's age is no gate)
    # What an adult does or is, with nothing about their health ("i'm a runner, how much do i need").
    "runner", "marathon runner", "athlete", "cyclist", "swimmer", "nurse", "student", "teacher", "shift worker",
    "night shift worker", "adult", "an adult", "grown up", "healthy", "fit", "fit and healthy", "in good health",
    "active", "vegan", "vegetarian", "retired",
    # A grown-up said plainly ("how much for a grown man"): an adult, the adult answer.
    "grown", "grown man", "grown woman", "grown adult", "a grown man", "a grown woman", "man", "woman", "guy", "lady",
    "bloke", "fella",
})
# S4 speaks of children; from this age on, the adult answers apply.
ADULT_AGE = 18
# From this age on, the dose comes from a doctor or pharmacist, as for the S4 groups (S7, the skill's policy).
OLDER_AGE = 65
# "my 8 year old", "I'm 15", "a fifteen year old": ages under 18 are children (S4).
_AGE = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:years?|yrs?|yo)\b|(?:^|\b)(?:i'?m|i am|she'?s|he'?s|they'?re|is)\s+(\d{1,3})$")
_AGE_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17,
}


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS_SAID = re.compile(rf"\b({'|'.join(_TENS)})(?:[\s-]({'|'.join(_UNITS)}))?\b")


def _age(text: str) -> int | None:
    # "forty five", "seventy two", "sixty-five": an adult's age said in words (65 and over is S7's).
    text = _TENS_SAID.sub(lambda m: str(_TENS[m.group(1)] + (_UNITS.index(m.group(2)) + 1 if m.group(2) else 0)), text)
    for word, number in _AGE_WORDS.items():
        text = re.sub(rf"\b{word}\b", str(number), text)
    match = _AGE.search(text.strip())
    if not match:
        return None
    age = int(match.group(1) or match.group(2))
    return age if age <= 120 else None  # "this is 400" is an amount, not an age


def parse_condition(raw: str | None) -> Condition | None:
    """Map a slot id or what a person said ("bad kidneys", "I'm expecting") to a condition."""
    if not raw:
        return None
    text = raw.strip().lower()
    try:
        return Condition(text)
    except ValueError:
        pass
    age = _age(text)
    if age is not None and age < ADULT_AGE:
        return Condition.CHILD
    if age is not None and age >= OLDER_AGE:
        return Condition.OLDER
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


# S8: stress, worry, a racing mind, cramps and trouble sleeping are needs the article answers, not health
# conditions. A phrase made only of these words is no mention ("i'm anxious and all wound up"); a diagnosis or a
# medicine for one brings words outside it ("anxiety medication", "an anxiety disorder") and still gates.
_NEED_WORDS = frozenset("""
i i'm im am a an bit so really very quite and all just always constantly my me of out on up edge the at night nights
stressed stress stressy stressful anxious anxiety worried worrying worrier worry worries wound tense tension nervous
wired overthinking racing mind busy brain cramps cramp cramping leg legs muscle muscles restless twitchy can't cant
sleep sleeping asleep insomnia awake lie lying
""".split())


def is_need(text: str) -> bool:
    """True when what was said names only a need (S8): stress, worry, a racing mind, cramps, poor sleep."""
    words = text.lower().replace("’", "'").split()
    return bool(words) and all(word in _NEED_WORDS for word in words)


def health_mention(raw: str | None) -> Condition | None:
    """What a heard health mention means for the gate: a known condition, else OTHER (fail closed).

    Used for words heard in a condition slot: anything there that is not plainly about something
    else ("food", "water") is treated as a health mention the skill does not recognise.
    """
    if not raw or not raw.strip():
        return None
    if is_need(raw):
        return None
    found = parse_condition(raw)
    if found is not None:
        return found
    text = raw.strip().lower()
    bare = text.removeprefix("for ").removeprefix("my ").removeprefix("a ")
    if text in NOT_HEALTH or bare in NOT_HEALTH:
        return None
    age = _age(text)
    if age is not None:
        return None  # an adult's age under 65 is not a condition (parse_condition took the rest)
    return Condition.OTHER


def age_mention(heard: str | None) -> Condition | None:
    """An age said as a number (the age slot): under 18 is a child (S4), 65 or over an older adult (S7); one
    that cannot be read ("?", as Alexa sends a number it heard but could not make out) gates too (fail closed)."""
    if heard is None:
        return None
    try:
        age = float(heard)
    except ValueError:
        return Condition.OTHER
    if age != age or age < 0:
        return Condition.OTHER
    if age < ADULT_AGE:
        return Condition.CHILD
    return Condition.OLDER if age >= OLDER_AGE else None


def safety_gate(conditions: Iterable[Condition], elemental_mg: float | None = None) -> tuple[Gate, ...]:
    """Return every gate that applies, most serious first; empty means the dose may be discussed."""
    gates = {_GATE_FOR[c] for c in conditions}
    if elemental_mg is not None and elemental_mg > DOCTOR_ONLY_ABOVE_MG:
        gates.add(Gate.OVER_800)
    return tuple(g for g in Gate if g in gates)
