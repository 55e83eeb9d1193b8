"""What the skill remembers about a person between nights.

Only choices and habits live here: a bedtime, a time zone, a preferred form and amount, the nights
a person said they took their magnesium, and reminder ids. Nothing about a person's health is ever
stored (no conditions, symptoms or medicines): the safety gate asks about those each time.

A row written by a newer release (a rolling deploy) keeps the fields this release does not know:
they ride along in ``extra`` and are written back as they were.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

# How many dose nights are kept; enough to talk about the first weeks of a habit (A10.1 studies
# ran for four to eight weeks) without growing an item forever.
MAX_DOSE_NIGHTS = 60
MAX_REMINDER_IDS = 10

FormName = Literal["glycinate", "threonate", "taurate", "citrate", "gluconate", "orotate", "oxide"]
FORMS: tuple[str, ...] = get_args(FormName)

_BEDTIME = re.compile(r"^(\d{1,2}):(\d{2})$")

# Schema v1 (the first release) stored four flat keys under other names.
_V1_RENAMES = {
    "bedtime": "bedtime",
    "form": "preferred_form",
    "amount": "preferred_amount_mg",
    "first_night": "started_on",
}


class UserProfile(BaseModel):
    """A person's remembered choices; the lead's handlers load it, change it and save it."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    bedtime: str | None = None
    time_zone: str | None = None
    preferred_form: FormName | None = None
    preferred_amount_mg: int | None = Field(default=None, ge=1, le=2000)
    started_on: date | None = None
    dose_nights: list[date] = Field(default_factory=list)
    reminder_ids: list[str] = Field(default_factory=list)
    last_routine_night: date | None = None
    # Where a wind-down was left tonight, so a person who comes back can resume it.
    paused_step: Literal["checkin", "dose", "breathe"] | None = None
    paused_on: date | None = None
    # When (epoch seconds) a request claimed the right to create the nightly reminder, so that
    # several "remind me" arriving at once create one reminder; cleared when that request is done.
    reminder_claimed_at: int | None = Field(default=None, ge=0)
    # Fields a newer schema wrote that this release does not know; kept as they were, never read.
    extra: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("bedtime")
    @classmethod
    def _bedtime_is_24h(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _BEDTIME.match(value.strip())
        if match is None:
            raise ValueError("bedtime must look like HH:MM (24-hour)")
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ValueError("bedtime must be a time of day between 00:00 and 23:59")
        return f"{hour:02d}:{minute:02d}"

    @field_validator("time_zone")
    @classmethod
    def _time_zone_is_iana(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("time_zone must be an IANA zone name such as Europe/London") from exc
        return value

    @field_validator("preferred_form", mode="before")
    @classmethod
    def _form_is_normalised(cls, value: Any) -> Any:
        # Forms arrive spoken ("Magnesium Glycinate") as well as stored ("glycinate").
        if isinstance(value, str):
            value = value.strip().lower().removeprefix("magnesium").strip()
            return {"bisglycinate": "glycinate", "l-threonate": "threonate"}.get(value, value)
        return value

    @field_validator("preferred_amount_mg", mode="before")
    @classmethod
    def _amount_is_whole(cls, value: Any) -> Any:
        # True is an int in Python; a stored boolean is never an amount.
        if isinstance(value, bool):
            raise ValueError("an amount is a number of milligrams, not true/false")
        return value

    @field_validator("dose_nights")
    @classmethod
    def _nights_sorted_and_capped(cls, value: list[date]) -> list[date]:
        return sorted(set(value))[-MAX_DOSE_NIGHTS:]

    @field_validator("reminder_ids")
    @classmethod
    def _ids_unique(cls, value: list[str]) -> list[str]:
        kept = [token for token in dict.fromkeys(value) if token.strip()]
        return kept[-MAX_REMINDER_IDS:]

    @property
    def nights_taken(self) -> int:
        """How many distinct nights the person said they took magnesium (within the kept window)."""
        return len(self.dose_nights)

    def record_dose(self, night: date) -> int:
        """Remember that magnesium was taken on ``night``; return which night this is for them."""
        if night not in self.dose_nights:
            self.dose_nights = [*self.dose_nights, night]
        if self.started_on is None:
            self.started_on = night
        return self.nights_taken

    def to_attributes(self) -> dict[str, Any]:
        """Return the profile as JSON-safe attributes (strings, ints, lists) for any adapter."""
        known = self.model_dump(mode="json", exclude=_CARRIER)
        # Unknown fields go first so that a known field of the same name always wins.
        return {**self.extra, **known} if self.extra else known

    @classmethod
    def from_attributes(cls, raw: Mapping[str, Any] | None) -> UserProfile:
        """Read stored attributes in any shape we ever wrote; bad values are dropped, never raised."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            log.warning("profile attributes were a %s, not a mapping; starting afresh", type(raw).__name__)
            return cls()
        data = {str(key): _plain(value) for key, value in raw.items()}
        version = data.get("schema_version")
        unknown: dict[str, Any] = {}
        if version is None and any(key in data for key in ("form", "amount", "first_night")):
            data, version = _migrate_v1(data), SCHEMA_VERSION
        elif isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            # A newer release wrote this (a rolling deploy): read what we understand, keep the rest
            # as it was, and keep its version so that release does not migrate its own data again.
            log.warning("profile schema v%s is newer than v%s; reading known fields", version, SCHEMA_VERSION)
            unknown = {key: value for key, value in data.items() if key not in _STORED}
        else:
            # Keys this schema does not know are dropped: nothing unplanned (health above all) is kept.
            version = SCHEMA_VERSION
        known = {key: value for key, value in data.items() if key in _STORED}
        known["schema_version"] = version
        profile = cls._validate_leniently(known)
        if unknown:
            profile.extra = unknown
        return profile

    @classmethod
    def _validate_leniently(cls, data: dict[str, Any]) -> UserProfile:
        """Validate field by field so one bad value costs only that value."""
        try:
            return cls.model_validate(data)  # the usual case: one pass, no per-field work
        except ValidationError:
            pass
        kept: dict[str, Any] = {}
        for name in cls.model_fields:
            if name not in data:
                continue
            value = data[name]
            if name in ("dose_nights", "reminder_ids"):
                value = _valid_items(cls, name, value)
            try:
                cls.model_validate({name: value})
            except ValidationError as exc:
                reason = exc.errors()[0].get("msg", "invalid")
                log.warning("dropped stored profile field %s (%s): %s", name, type(value).__name__, reason)
                continue
            kept[name] = value
        return cls.model_validate(kept)


# The field that carries unknown keys is not itself a stored key.
_CARRIER = frozenset({"extra"})
_STORED = frozenset(UserProfile.model_fields) - _CARRIER


def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Rename the flat v1 keys to their v2 names."""
    migrated = {new: data[old] for old, new in _V1_RENAMES.items() if old in data}
    log.info("migrated a v1 profile to v%s", SCHEMA_VERSION)
    return migrated


def _valid_items(model: type[UserProfile], name: str, value: Any) -> Any:
    """Keep the good items of a stored list and drop the bad ones one by one."""
    if not isinstance(value, list | tuple):
        return value
    good: list[Any] = []
    for item in value:
        try:
            model.model_validate({name: [item]})
        except ValidationError:
            log.warning("dropped one stored item of %s (%s)", name, type(item).__name__)
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
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value
