"""The request envelopes every section sends: one per main intent, taken from the test fixtures.

The routine turn is a small conversation: the bedtime is saved first (SetBedtimeIntent), then
"start my wind-down" enters the routine, and "next" carries the session attributes that answer
returned, as Alexa would send them back.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bench import FIXTURES

Envelope = dict[str, Any]

# Case name -> fixture file; "dose" and "routine_next" are assembled below from two fixtures each.
_FIXTURE_CASES = {
    "launch": "launch.json",
    "form_advice": "form_advice_intent_falling_asleep.json",
    "mechanism": "mechanism_intent.json",
    "safety": "safety_intent_medicines.json",
    "help": "amazon_help.json",
    "routine_wind_down": "wind_down_intent.json",
}
CASE_ORDER = ("launch", "dose", "form_advice", "mechanism", "safety", "help", "routine_wind_down", "routine_next")


class FixtureError(RuntimeError):
    """A fixture the benchmark needs is missing or unreadable; the message names it."""


def fixture(name: str, folder: Path = FIXTURES) -> Envelope:
    """Read one sample request envelope."""
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FixtureError(f"cannot read request fixture {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
        raise FixtureError(f"{path} is not a request envelope")
    return data


def dose_with_amount_and_form() -> Envelope:
    """DoseIntent for "is 300 milligrams of glycinate right": amount and unit from one fixture, form from another."""
    envelope = fixture("dose_intent_300.json")
    form_slot = fixture("dose_intent_glycinate.json")["request"]["intent"]["slots"]["form"]
    envelope["request"]["intent"]["slots"]["form"] = copy.deepcopy(form_slot)
    return envelope


def set_bedtime() -> Envelope:
    """SetBedtimeIntent at 22:30: the saved bedtime the routine cases need."""
    return fixture("set_bedtime_intent.json")


def routine_next(wind_down_answer: dict[str, Any]) -> Envelope:
    """AMAZON.NextIntent inside the session the wind-down answer left open."""
    envelope = fixture("amazon_next.json")
    attributes = wind_down_answer.get("sessionAttributes") or {}
    if attributes.get("waiting") != "checkin":
        raise FixtureError("the wind-down answer did not enter the routine (the session does not wait on the check-in)")
    envelope["session"]["new"] = False
    envelope["session"]["attributes"] = copy.deepcopy(attributes)
    return envelope


def opening_cases() -> dict[str, Envelope]:
    """Every case except the routine's "next", which needs the wind-down answer first."""
    cases = {name: fixture(file) for name, file in _FIXTURE_CASES.items()}
    cases["dose"] = dose_with_amount_and_form()
    return cases


def body(envelope: Envelope) -> bytes:
    """The envelope as an HTTP body, compact as Alexa sends it."""
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")
