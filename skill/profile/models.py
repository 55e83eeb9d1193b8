"""What the skill remembers about a person between nights.

Only choices and habits live here: a bedtime, a time zone, a preferred form and amount, reminder
ids, and, only if the person said yes when it was offered, a count of the nights they said they
took their magnesium (a number, the first and the last night counted, and when the last one was
counted). Nothing about a person's
health is ever stored (no conditions, symptoms or medicines): the safety gate asks about those each time.

A row written by a newer release (a rolling deploy) keeps the fields this release does not know:
they ride along in ``extra`` and are written back as they were.
"""
import logging
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, get_args

from skill.fields import FieldError, Record, fresh_state, read_value, record, slots, spec, to_json

log = logging.getLogger(__name__)

# v1: four flat keys; v2: a list of dose nights, kept without asking; v3: a count kept only after a
# yes; v4: the instant of the last count (a v3 row has none, and its last night's date serves instead).
SCHEMA_VERSION = 4

# A ceiling on the count of nights (a hundred years of them): a stored count past it is a bad value.
MAX_NIGHTS_COUNTED = 36_500
MAX_REMINDER_IDS = 10
# A second "I took it" this soon after the last night counted is the same night, whatever night a
# time zone learned in between makes it (the settings API failed at 20:30, answered at 22:00).
SAME_NIGHT_SECONDS = 18 * 3600

FormName = Literal["glycinate", "threonate", "taurate", "citrate", "gluconate", "orotate", "oxide"]
FORMS: tuple[str, ...] = get_args(FormName)

_BEDTIME = r"(\d{1,2}):(\d{2})\Z"  # compiled on first use (by re's cache): most cold starts read no bedtime

# Schema v1 (the first release) stored four flat keys under other names.
_V1_RENAMES = {
    "bedtime": "bedtime",
    "form": "preferred_form",
    "amount": "preferred_amount_mg",
    "first_night": "started_on",
}


@lru_cache(maxsize=1024)  # a person's bedtime is read on most requests: check each spelling once
def _bedtime_is_24h(value: str | None) -> str | None:
    if value is None:
        return None
    match = re.match(_BEDTIME, value.strip())
    if match is None:
        raise ValueError("bedtime must look like HH:MM (24-hour)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError("bedtime must be a time of day between 00:00 and 23:59")
    return f"{hour:02d}:{minute:02d}"


def _time_zone_is_iana(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: most requests never read a zone

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("time_zone must be an IANA zone name such as Europe/London") from exc
    return value


def _form_is_normalised(value: Any) -> Any:
    # Forms arrive spoken ("Magnesium Glycinate") as well as stored ("glycinate").
    if isinstance(value, str):
        value = value.strip().lower().removeprefix("magnesium").strip()
        return {"bisglycinate": "glycinate", "l-threonate": "threonate"}.get(value, value)
    return value


def _ids_unique(value: list[str]) -> list[str]:
    kept = [token for token in dict.fromkeys(value) if token.strip()]
    return kept[-MAX_REMINDER_IDS:]


@record
class UserProfile(Record):
    """A person's remembered choices; the lead's handlers load it, change it and save it.

    Every value is checked when it is set, in code or from the store (FieldError, a ValueError,
    names the field). One definition serves both readers: the plain one here, on every request,
    and pydantic's (`pydantic_type` of skill.fields), which tests hold to the same answers.
    """

    schema_version: int = spec(SCHEMA_VERSION, description="The shape this profile was written in.")
    bedtime: str | None = spec(None, description="Usual bedtime, 24-hour HH:MM.", check=_bedtime_is_24h)
    time_zone: str | None = spec(None, description="IANA time zone of the person's device.", check=_time_zone_is_iana)
    preferred_form: FormName | None = spec(None, description="The magnesium form they take.", before=_form_is_normalised)
    preferred_amount_mg: int | None = spec(None, ge=1, le=2000, description="The amount they take, in milligrams.")
    # The nightly count of "I took my magnesium" is kept only after a yes when it is first offered:
    # None is "not asked yet" (so the next "I took it" asks), False is "no" (nothing is counted, and
    # the offer is not made again), True is "yes".
    count_nights: bool | None = spec(None, description="Their answer to keeping count of their nights.")
    nights_counted: int = spec(0, ge=0, le=MAX_NIGHTS_COUNTED, description="Nights they said they took it, once counting.")
    started_on: date | None = spec(None, description="The first night counted.")
    # Only the last night counted, not a list of nights: it is what tells a second "I took it" the
    # same night from a new night, so that one night is never counted twice and the person hears
    # "you already told me tonight" rather than anything that could read as a second dose (T4).
    last_counted_on: date | None = spec(None, description="The last night counted.")
    # When (epoch seconds, UTC) the last night was counted: the date alone depends on the time zone
    # it was reckoned in, and a zone learned later in the evening can make a counted night look new.
    last_counted_at: int | None = spec(None, ge=0, description="When the last night was counted, epoch seconds.")
    reminder_ids: list[str] = spec(default_factory=list, description="Alexa reminder tokens.", check=_ids_unique)
    reminder_at: str | None = spec(None, description="The nightly reminder's time they chose, 24-hour HH:MM.",
                                   check=_bedtime_is_24h)
    # Where a wind-down was left tonight, so a person who comes back can resume it.
    paused_step: Literal["checkin", "dose", "breathe"] | None = spec(None, description="The step a wind-down paused at.")
    paused_on: date | None = spec(None, description="The night it paused.")
    # When (epoch seconds) a request claimed the right to create the nightly reminder, so that
    # several "remind me" arriving at once create one reminder; cleared when that request is done,
    # unless the create's outcome is unknown: then it stands until it lapses (personal.CLAIM_SECONDS).
    reminder_claimed_at: int | None = spec(None, ge=0, description="When a reminder was being created.")

    @property
    def extra(self) -> dict[str, Any]:
        """Fields a newer schema wrote that this release does not know; kept as they were, never read."""
        return self.__dict__.get("_extra", {})  # type: ignore[no-any-return]

    @extra.setter
    def extra(self, value: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_extra", dict(value))

    def __setattr__(self, name: str, value: Any) -> None:
        # Checked on every assignment, as on construction: a handler can never store a bad value.
        slot = _SLOTS.get(name)
        if slot is not None:
            value = read_value(slot, value)
        object.__setattr__(self, name, value)

    def count_night(self, night: date, at: int) -> int | None:
        """Count ``night``, said at ``at`` (epoch seconds), for someone who agreed to counting; its
        number, or None if it was counted already.

        One night, one count, in any time zone: within SAME_NIGHT_SECONDS (18 hours) of the last
        count it is the same night, whatever its date. A record without that instant (schema v3)
        goes by the date: a night at or before the last one counted is not counted again.
        """
        if self.count_nights is not True:
            raise ValueError("count_nights: nights are counted only after the person agreed")
        if self.last_counted_at is not None:
            if abs(at - self.last_counted_at) < SAME_NIGHT_SECONDS:
                return None
        elif self.last_counted_on is not None and night <= self.last_counted_on:
            return None
        self.nights_counted = min(self.nights_counted + 1, MAX_NIGHTS_COUNTED)
        self.last_counted_on, self.last_counted_at = night, at
        if self.started_on is None:
            self.started_on = night
        return self.nights_counted

    def decline_count(self) -> None:
        """Keep only the "no" (so the offer is not made every night), and delete any count."""
        self.count_nights = False
        self.nights_counted, self.started_on, self.last_counted_on, self.last_counted_at = 0, None, None, None

    def to_attributes(self) -> dict[str, Any]:
        """Return the profile as JSON-safe attributes (strings, ints, lists) for any adapter."""
        known = {name: to_json(getattr(self, name)) for name in _SLOTS}
        # Unknown fields go first so that a known field of the same name always wins.
        return {**self.extra, **known} if self.extra else known

    @classmethod
    def from_attributes(cls, raw: Mapping[str, Any] | None) -> "UserProfile":
        """Read stored attributes in any shape we ever wrote; bad values are dropped, never raised."""
        return read_stored(raw, read_value)

    @classmethod
    def _trusted(cls, values: dict[str, Any]) -> "UserProfile":
        """Build from values already read field by field, without reading them again."""
        profile = cls.__new__(cls)
        state = fresh_state(cls)
        state.update(values)
        profile.__dict__.update(state)
        return profile


_SLOTS = slots(UserProfile)
FieldReader = Callable[[Any, Any], Any]  # (slot, value) -> the value kept, or FieldError


def read_stored(raw: Mapping[str, Any] | None, read: FieldReader) -> UserProfile:
    """Read a stored row field by field with `read`, so one bad value costs only that value.

    DynamoDB's Decimals are made plain and v1 names renamed first; then each known field is read
    on its own, and a list that fails is read again item by item. Unknown keys are left behind.
    This runs on every request that needs the profile, so the usual row (SQLite's JSON, mostly
    defaults) takes the short way through.
    """
    if raw is None:
        return UserProfile()
    if type(raw) is not dict and not isinstance(raw, Mapping):
        log.warning("profile attributes were a %s, not a mapping; starting afresh", type(raw).__name__)
        return UserProfile()
    version = _plain(raw.get("schema_version"))
    if version is None and any(key in raw for key in ("form", "amount", "first_night")):
        raw = _migrate_v1({str(key): value for key, value in raw.items()})
    older = version is None or (type(version) is int and version < 3)
    if older and "dose_nights" in raw:
        raw = _migrate_v2({str(key): value for key, value in raw.items()}, read)
    newer = isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION
    if newer:
        # A newer release wrote this (a rolling deploy): read what we understand, keep the rest as
        # it was, and keep its version so that release does not migrate its own data again.
        log.warning("profile schema v%s is newer than v%s; reading known fields", version, SCHEMA_VERSION)
    kept: dict[str, Any] = {}
    for name, slot in _STORED_SLOTS:
        value = raw.get(name)
        if value is None or value == []:
            continue  # absent or the default (every default reads as itself): most fields of most rows
        if type(value) not in _PLAIN_TYPES:
            value = _plain(value)
        try:
            kept[name] = read(slot, value)
        except FieldError as first:
            error = first
            if slot.kind.name == "list" and isinstance(value, list):
                try:
                    kept[name] = read(slot, _valid_items(slot, value, read))  # keep the good items
                    continue
                except FieldError as again:
                    error = again
            log.warning("dropped stored profile field %s (%s): %s", name, type(value).__name__, error.reason)
    if newer:
        kept["schema_version"] = version
    profile = UserProfile._trusted(kept)
    if newer:
        # Keys this schema does not know are otherwise dropped: nothing unplanned (health above all) is kept.
        profile.extra = {str(k): _plain(v) for k, v in raw.items() if k not in _SLOTS}
    return profile


# Every field but the version, which is always read as the current one.
_STORED_SLOTS = [(name, slot) for name, slot in _SLOTS.items() if name != "schema_version"]


def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Rename the flat v1 keys to their v2 names."""
    migrated = {new: data[old] for old, new in _V1_RENAMES.items() if old in data}
    log.info("migrated a v1 profile to v%s", SCHEMA_VERSION)
    return migrated


def _migrate_v2(data: dict[str, Any], read: FieldReader) -> dict[str, Any]:
    """Turn v2's list of dose nights into a count and the first and last night; consent stays unknown.

    v2 kept every night without asking. The count is carried over but never taken as agreed:
    `count_nights` stays unset, so the next "I took my magnesium" asks first, and a "no" deletes
    the count (a yes keeps it). The dates themselves are gone from the row at its next save.
    """
    migrated = {k: v for k, v in data.items() if k not in ("dose_nights", "last_routine_night", "count_nights")}
    nights: set[date] = set()
    stored = _plain(data.get("dose_nights"))
    for item in stored if isinstance(stored, list) else []:
        try:
            night = read(_SLOTS["last_counted_on"], item)
        except FieldError:
            night = None
        if night is None:
            log.warning("dropped one stored item of dose_nights (%s)", type(item).__name__)
        else:
            nights.add(night)
    if nights:
        migrated["nights_counted"] = len(nights)
        migrated["last_counted_on"] = max(nights).isoformat()
        if migrated.get("started_on") is None:
            migrated["started_on"] = min(nights).isoformat()
    log.info("migrated a v2 profile to v%s (%d nights counted, consent not asked yet)", SCHEMA_VERSION, len(nights))
    return migrated


def _valid_items(slot: Any, value: list[Any], read: FieldReader) -> list[Any]:
    """Keep the good items of a stored list and drop the bad ones one by one."""
    good: list[Any] = []
    for item in value:
        try:
            read(slot, [item])
        except FieldError:
            log.warning("dropped one stored item of %s (%s)", slot.name, type(item).__name__)
            continue
        good.append(item)
    return good


_PLAIN_TYPES = frozenset({str, int, float, bool})


def _plain(value: Any) -> Any:
    """Turn DynamoDB's Decimals (and sets) back into the ints and lists we wrote."""
    if value is None or type(value) in _PLAIN_TYPES:  # what SQLite's JSON gives back: nothing to do
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if type(value) is list and all(v is None or type(v) in _PLAIN_TYPES for v in value):
        return value  # a list of dates or ids as SQLite's JSON gives it back: nothing to do
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value
