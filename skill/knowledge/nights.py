"""Tonight, in a person's own time zone: when the dose falls and whether bedtime has passed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

# Where the wind-down starts: a habit the skill suggests, not a finding. No source names a time of day or
# a number of minutes before bed (T1), so nothing spoken presents this as one.
DOSE_LEAD = timedelta(minutes=45)
WINDOW_OPENS = timedelta(minutes=60)
# Until this hour, "tonight" is still yesterday evening's night.
NIGHT_ENDS_HOUR = 5

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class Phase(StrEnum):
    """Where now falls against tonight's bedtime."""

    EARLY = "early"  # more than an hour before bed
    WINDOW = "window"  # the hour before bed: a good time for the dose
    LATE = "late"  # bedtime has passed


@dataclass(frozen=True, slots=True)
class Tonight:
    """Tonight's schedule for one person."""

    night: date
    bedtime: datetime
    dose_at: datetime
    phase: Phase


def bedtime_from_slot(value: str | None) -> str | None:
    """Read AMAZON.TIME as a bedtime "HH:MM", or None for "evening", "NI" and other vague answers.

    A bedtime said without am or pm arrives as morning ("10:30"); between 5 and 11:59 that is
    almost always the evening, so it is moved there. The skill says the time back, so a night
    worker can correct it.
    """
    match = _HHMM.match((value or "").strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    if 5 <= hour < 12:
        hour += 12
    return f"{hour:02d}:{minute:02d}"


def half_past(hour: str | None) -> str | None:
    """ "Half ten" (AMAZON.NUMBER "10" after "half") as the clock time "10:30", or None if no hour of a clock."""
    try:
        number = float((hour or "").strip())
    except ValueError:  # "?" (a number Alexa heard but could not make out) or words
        return None
    if not number.is_integer() or not 1 <= number <= 12:
        return None
    return f"{int(number):02d}:30"


def night_of(now_local: datetime) -> date:
    """The evening a moment belongs to: 1 a.m. on Friday is still Thursday night."""
    if now_local.hour < NIGHT_ENDS_HOUR:
        return (now_local - timedelta(days=1)).date()
    return now_local.date()


def tonight(bedtime: str, time_zone: str, now: datetime) -> Tonight:
    """Place bedtime on tonight's calendar and say where now falls against it."""
    from zoneinfo import ZoneInfo  # here, not at import: a launch or a question never needs a zone

    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    night = night_of(local)
    hour, minute = (int(part) for part in bedtime.split(":"))
    day = night + timedelta(days=1) if hour < NIGHT_ENDS_HOUR else night  # a 00:30 bedtime is after midnight
    bed = datetime.combine(day, time(hour, minute), tzinfo=zone)
    if local >= bed:
        phase = Phase.LATE
    elif local >= bed - WINDOW_OPENS:
        phase = Phase.WINDOW
    else:
        phase = Phase.EARLY
    return Tonight(night, bed, bed - DOSE_LEAD, phase)


# Where cards and speech write "pm" in lower case (the UK's and Australia's style guides); elsewhere "PM".
LOWER_CASE_CLOCK = frozenset({"en-GB", "en-AU"})


def spoken_time(moment: datetime | str, locale: str = "en-US") -> str:
    """Say a clock time the way the listener's market writes it: "10:30 PM" (US, Canada, India), "10:30 pm" (UK, Australia)."""
    if isinstance(moment, str):
        hour, minute = (int(part) for part in moment.split(":"))
    else:
        hour, minute = moment.hour, moment.minute
    suffix = "AM" if hour < 12 else "PM"
    if locale in LOWER_CASE_CLOCK:
        suffix = suffix.lower()
    hour12 = hour % 12 or 12
    return f"{hour12} {suffix}" if minute == 0 else f"{hour12}:{minute:02d} {suffix}"
