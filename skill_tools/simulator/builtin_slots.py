"""Built-in Alexa slot types, recognised offline: AMAZON.NUMBER, AMAZON.TIME and AMAZON.DURATION.

Each type has a parser that turns a run of words into the value Alexa would send, or None if the
words are not a value of the type; the resolver tries it on every short run of an utterance.
Text reaching these functions is already normalised by ``nlu.normalise`` (lowercase,
``1,000`` -> ``1000``, ``a.m.`` -> ``am``).

Value conventions (kept simple and close to Alexa's):

- AMAZON.NUMBER: the digit string, ``"300"``, ``"1200"``, ``"2.5"``; ``"half"`` -> ``"0.5"``,
  ``"one and a half"`` -> ``"1.5"``.
- AMAZON.TIME: ``"HH:MM"`` on a 24-hour clock. An hour said without am/pm is taken as spoken
  (``"ten thirty"`` -> ``"10:30"``); ``pm``, ``in the evening``, ``at night`` and ``tonight`` add
  twelve hours; ``noon`` -> ``"12:00"``, ``midnight`` -> ``"00:00"``. A bare part of the day gives
  Alexa's codes ``"MO"``, ``"AF"``, ``"EV"``, ``"NI"``.
- AMAZON.DURATION: ISO-8601, ``"PT20M"``, ``"PT1H30M"``.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable

UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}
TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
DIGITS: dict[str, int] = {k: v for k, v in UNITS.items() if v > 0 and k != "oh"}  # one to nine, as said


def _alt(words: Iterable[str]) -> str:
    """Join words into a regex alternation, longest first so "sixteen" wins over "six"."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_NUM_WORD = rf"(?:a (?:{_alt(SCALES)})|{_alt([*UNITS, *TEENS, *TENS, *SCALES])})"
NUMBER_PATTERN = (
    rf"(?:\d+(?:\.\d+)?|{_NUM_WORD}(?: (?:and )?{_NUM_WORD})*(?: point(?: (?:{_alt(UNITS)}))+)?)"
)


def parse_number(text: str) -> str | None:
    """Return the digit string for spoken or written number ``text``, or None if it is no number."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        try:
            return _format(Decimal(text))
        except InvalidOperation:  # pragma: no cover - the pattern above rules this out
            return None
    if text in ("half", "a half"):
        return "0.5"  # "half a gram"
    couple = re.fullmatch(r"(?:a )?couple(?: of)?(?: (hundred|thousand))?", text)
    if couple:  # "a couple of grams", "a couple hundred": two, or two of the scale
        return str(2 * SCALES.get(couple[1] or "", 1))
    if text in SCALES:
        return None  # "a few HUNDRED": no number was said, and 100 would be called too little
    scaled = re.fullmatch(r"(\d+(?:\.\d+)?|.+ and a half) (hundred|thousand)", text)
    if scaled:  # "4 hundred", "two and a half hundred"
        count = parse_number(scaled[1])
        return None if count is None else _format(Decimal(count) * SCALES[scaled[2]])
    if text.endswith(" and a half"):  # "one and a half", "2 and a half"
        whole_text = parse_number(text[: -len(" and a half")])
        return None if whole_text is None or "." in whole_text else _format(Decimal(whole_text) + Decimal("0.5"))
    words = text.split()
    fraction = ""
    if "point" in words:
        at = words.index("point")
        digits = words[at + 1:]
        if not digits or any(w not in UNITS for w in digits):
            return None
        fraction = "".join(str(UNITS[w]) for w in digits)
        words = words[:at]
    whole = 0 if fraction and words in ([], ["zero"], ["nought"], ["oh"]) else _parse_integer_words(words)  # "point four"
    if whole is None and not fraction:
        whole = _hundreds_said_short(words)
    if whole is None:
        return None
    return _format(Decimal(f"{whole}.{fraction}")) if fraction else str(whole)


def _format(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _hundreds_said_short(words: list[str]) -> int | None:
    """ "three fifty" is 350 and "two twenty five" 225, as amounts and prices are said aloud."""
    if len(words) == 2 and words[0] in DIGITS and (words[1] in TENS or words[1] in TEENS):
        return DIGITS[words[0]] * 100 + TENS.get(words[1], 0) + TEENS.get(words[1], 0)
    if len(words) == 3 and words[0] in DIGITS and words[1] in TENS and words[2] in DIGITS:
        return DIGITS[words[0]] * 100 + TENS[words[1]] + DIGITS[words[2]]
    return None


def _parse_integer_words(words: list[str]) -> int | None:
    """Add up number words, refusing sequences nobody says ("one two", "twenty thirty")."""
    if not words:
        return None
    total = 0
    current = 0
    last = ""  # kind of the previous word: unit, teen, tens, hundred, scale
    for i, word in enumerate(words):
        if word == "and":
            if last not in ("hundred", "scale"):
                return None
            continue
        if word == "a":
            # only as in "a hundred" / "a thousand"
            if i + 1 >= len(words) or words[i + 1] not in SCALES or last in ("unit", "teen", "tens"):
                return None
            current = max(current, 0)
            last = "a"
            continue
        if word in UNITS:
            if last in ("unit", "teen") or word == "oh":
                return None
            current += UNITS[word]
            last = "unit"
        elif word in TEENS:
            if last in ("unit", "teen", "tens"):
                return None
            current += TEENS[word]
            last = "teen"
        elif word in TENS:
            if last in ("unit", "teen", "tens"):
                return None
            current += TENS[word]
            last = "tens"
        elif word == "hundred":
            if last == "hundred":
                return None
            # "twelve hundred" is 1200, "a hundred" and a bare "hundred" are 100
            current = (current or 1) * 100
            last = "hundred"
        elif word in SCALES:
            scale = SCALES[word]
            total += (current or 1) * scale
            current = 0
            last = "scale"
        else:
            return None
    return total + current


# --- AMAZON.TIME -----------------------------------------------------------------------------

_HOUR_WORDS = {**DIGITS, "ten": 10, "eleven": 11, "twelve": 12}
_MINUTE_WORD = (
    rf"(?:oh (?:{_alt(DIGITS)})"
    rf"|(?:twenty|thirty|forty|fifty)(?: (?:{_alt(DIGITS)}))?"
    rf"|{_alt(TEENS)}|o'clock)"
)
_SUFFIX = r"(?P<suffix>am|pm|in the morning|in the afternoon|in the evening|at night|tonight)"
_TIME_FORMS = [
    # "10:45 pm", and "10 45 pm" as a recogniser may write "ten forty five pm".
    rf"(?P<dh>\d{{1,2}})(?:[: ](?P<dm>\d{{2}}))?(?: {_SUFFIX})?",
    rf"(?P<rel>half|quarter|{_MINUTE_WORD})(?: minutes?)? (?P<dir>past|after|to|before) (?P<rh>{_alt(_HOUR_WORDS)})(?: {_SUFFIX})?",
    rf"(?P<wh>{_alt(_HOUR_WORDS)})(?: (?P<wm>{_MINUTE_WORD}))?(?: {_SUFFIX})?",
    r"(?P<fixed>noon|midday|midnight)",
    r"(?P<part>(?:this |in the )?(?:morning|afternoon|evening)|tonight|at night|night)",
]
_TIME_REGEXES = [re.compile(form) for form in _TIME_FORMS]

_PARTS = {"morning": "MO", "afternoon": "AF", "evening": "EV", "night": "NI", "tonight": "NI"}


def _minutes_from_words(words: str | None) -> int | None:
    if not words or words == "o'clock":
        return 0
    value = parse_number(words.replace("oh ", ""))
    return int(value) if value is not None and value.isdigit() else None


def _apply_suffix(hour: int, suffix: str | None) -> int | None:
    if suffix is None:
        return hour
    if suffix in ("pm", "in the afternoon", "in the evening", "at night", "tonight"):
        if hour > 12:
            return None
        return hour if hour == 12 else hour + 12
    # am, in the morning
    if hour > 12:
        return None
    return 0 if hour == 12 else hour


def parse_time(text: str) -> str | None:
    """Return "HH:MM" (or MO/AF/EV/NI) for a spoken or written time, or None."""
    text = text.strip()
    for regex in _TIME_REGEXES:
        m = regex.fullmatch(text)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("fixed"):
            return "00:00" if groups["fixed"] == "midnight" else "12:00"
        if groups.get("part"):
            return _PARTS[groups["part"].split()[-1]]
        if groups.get("dh") is not None:
            hour, minute = int(groups["dh"]), int(groups["dm"] or 0)
            if groups.get("suffix") is None and groups["dm"] is None and hour > 23:
                return None
        elif groups.get("rh") is not None:
            target = _HOUR_WORDS[groups["rh"]]
            rel = groups["rel"]
            offset = 30 if rel == "half" else 15 if rel == "quarter" else _minutes_from_words(rel)
            if offset is None or offset >= 60 or (rel == "half" and groups["dir"] in ("to", "before")):
                return None
            if groups["dir"] in ("past", "after"):
                hour, minute = target, offset
            else:
                hour, minute = (target - 1) % 12 or 12, (60 - offset) % 60
                if offset == 0:
                    hour = target
        else:
            hour = _HOUR_WORDS[groups["wh"]]
            found = _minutes_from_words(groups.get("wm"))
            if found is None:
                return None
            minute = found
        adjusted = _apply_suffix(hour, groups.get("suffix"))
        if adjusted is None or not 0 <= adjusted <= 23 or not 0 <= minute <= 59:
            return None
        return f"{adjusted:02d}:{minute:02d}"
    return None


# --- AMAZON.DURATION -------------------------------------------------------------------------

_DURATION_UNIT = r"(?:seconds?|minutes?|hours?)"
_DURATION_PART = rf"(?:{NUMBER_PATTERN}|an?|half an?) {_DURATION_UNIT}"
_DURATION_PART_RE = re.compile(rf"(?P<n>{NUMBER_PATTERN}|an?|half an?) (?P<unit>{_DURATION_UNIT})")


def parse_duration(text: str) -> str | None:
    """Return an ISO-8601 duration ("PT20M") for "twenty minutes", "an hour and a half" and kin."""
    text = text.strip()
    if text == "half an hour":
        return "PT30M"
    if text == "an hour and a half":
        return "PT1H30M"
    seconds = Decimal(0)
    rest = text
    while rest:
        m = _DURATION_PART_RE.match(rest)
        if not m:
            return None
        n = m.group("n")
        amount = Decimal("0.5") if n.startswith("half") else Decimal(1) if n in ("a", "an") else None
        if amount is None:
            parsed = parse_number(n)
            if parsed is None:
                return None
            amount = Decimal(parsed)
        unit = m.group("unit").rstrip("s")
        seconds += amount * {"second": 1, "minute": 60, "hour": 3600}[unit]
        rest = rest[m.end():].strip()
        if rest.startswith("and "):
            rest = rest[4:]
    total = int(seconds)
    hours, remainder = divmod(total, 3600)
    minutes, secs = divmod(remainder, 60)
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return out if out != "PT" else "PT0S"


# Slot type -> parser. Other AMAZON.* types are words as spoken, found by their place in a sample.
BUILTIN_PARSERS: dict[str, Callable[[str], str | None]] = {
    "AMAZON.NUMBER": parse_number,
    "AMAZON.FOUR_DIGIT_NUMBER": parse_number,
    "AMAZON.TIME": parse_time,
    "AMAZON.DURATION": parse_duration,
}
# The longest value (in words) the parsers are asked about: "twenty five minutes to eleven pm".
MAX_BUILTIN_WORDS = 8
# Every number, time or duration ends with one of these words (or digits): a cheap test that
# spares the parsers most runs of words.
_VALUE_END_WORDS = frozenset([
    *UNITS, *TEENS, *TENS, *SCALES, "half", "couple", "o'clock", "am", "pm", "morning", "afternoon", "evening", "night",
    "tonight", "noon", "midday", "midnight", "second", "seconds", "minute", "minutes", "hour", "hours",
])


def may_end_a_value(word: str) -> bool:
    """Whether a built-in value (number, time, duration) can end with ``word``."""
    return word in _VALUE_END_WORDS or word[:1].isdigit()
