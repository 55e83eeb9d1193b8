"""The value classes behave as the dataclasses they replaced (skill.values says why).

Each is held against a reference built with @dataclass from the same fields: the same repr, the
same equality and hashing, frozen where it was frozen, a fresh dict (or lock) for each default, and
dataclasses.replace, copy and pickle still work (or fail, for a value holding a lock, as they did).
"""
from __future__ import annotations

import copy
import dataclasses
import pickle
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skill.alexa_api import SkillReminder
from skill.handlers.base import TIME, Intent, Slot
from skill.knowledge import Condition, DoseAdvice, Form, Gate, Label, Need, Tier
from skill.knowledge.forms import FormAdvice
from skill.knowledge.nights import Phase, Tonight
from skill.outbound import Breakers, CircuitBreaker, HttpResponse
from skill.profile.models import UserProfile
from skill.profile.versions import Change, Snapshot
from skill.services import Services, _Turn, utc_now
from skill.speech import Line, Reply, Spoken
from skill.state import DoseAsked, State, Topic, Waiting


class Fresh:
    """A default made afresh for each instance: the twin gets it as default_factory."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory


def reference(cls: type, frozen: bool, defaults: dict[str, Any]) -> type:
    """A @dataclass with the fields of `cls` in order, named the same, so reprs compare as text."""
    fields: list[Any] = []
    unshown = UNSHOWN.get(cls, set())
    for name in cls._fields:  # type: ignore[attr-defined]
        shown = name not in unshown  # dataclasses.field(repr=False)
        if name in defaults:
            default = defaults[name]
            fields.append((name, Any, dataclasses.field(default_factory=default.factory, repr=shown)
                           if isinstance(default, Fresh) else dataclasses.field(default=default, repr=shown)))
        else:
            fields.append((name, Any, dataclasses.field(repr=shown)))
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=frozen)


# The fields each @dataclass declared with field(repr=False).
UNSHOWN: dict[type, set[str]] = {CircuitBreaker: {"_slots"}, Breakers: {"_by_host", "_lock"}}
DOSE = DoseAsked(300.0, Form.GLYCINATE, 2)
BED = datetime(2026, 11, 27, 22, 30, tzinfo=timezone.utc)
BREAKERS = Breakers(failures=3)
CASES: list[tuple[type, bool, dict[str, Any], tuple[Any, ...], tuple[Any, ...]]] = [
    # class, frozen, defaults, one set of values, another
    (DoseAsked, True, {"amount_mg": None, "form": None, "count": None}, (300.0, Form.GLYCINATE, 2), (400.0, None, None)),
    (State, True, {"waiting": Waiting.NOTHING, "then": None, "topic": None, "dose": None, "conditions": Fresh(frozenset),
                   "last_said": None, "profile": None, "compared": None, "screened": False, "held": None,
                   "conversing": False},
     (Waiting.MORE, "details", Topic.DOSE, DOSE, frozenset({"kidney"}), None, None, (Form.CITRATE, Form.OXIDE), True, None,
      True),
     (Waiting.SCREEN, None, None, None, frozenset(), {"lines": []}, {"bedtime": "22:30"}, None, False, {"lines": []},
      False)),
    (Line, True, {"params": Fresh(dict), "variant": None, "reprompt_variant": None}, ("launch", {"a": 1}, 0, None),
     ("help", {}, None, 1)),
    (Spoken, True, {"replay": Fresh(dict)}, ("<speak>Hi</speak>", None, "T", "Hi", ("launch",), {"soft": False}),
     ("<speak>Bye</speak>", "<speak>?</speak>", None, None, (), {})),
    (Reply, False, {"ask": None, "end": False, "more": None, "soft": False, "card": True, "waiting": Waiting.NOTHING,
                    "then": None, "topic": None, "dose": None, "compared": None, "done": False},
     ([Line("launch")], Line("help"), False, None, True, True, Waiting.CHECKIN, None, Topic.SAFETY, DOSE,
      (Form.GLYCINATE, Form.TAURATE), False),
     ([], None, True, "more.details", False, False, Waiting.NOTHING, "x", None, None, None, True)),
    # The other values on the Lambda path: declarations, knowledge, store, services, outbound calls.
    (Slot, True, {"elicit": False}, ("time", "AMAZON.TIME", True), ("age", "AMAZON.NUMBER", False)),
    (Intent, True, {"slots": ()}, ("SetBedtimeIntent", (TIME,)), ("ForgetIntent", ())),
    (Tonight, True, {}, (BED.date(), BED, BED - timedelta(minutes=45), Phase.WINDOW),
     (BED.date(), BED, BED, Phase.LATE)),
    (DoseAdvice, True, {"gates": (), "stated_mg": None, "elemental_mg": None, "form": None, "label": Label.UNKNOWN,
                        "if_compound_mg": None, "label_matters": False},
     (Tier.GATED, (Gate.KIDNEY,), 500.0, 500.0, Form.CITRATE, Label.COMPOUND, 80.0, True),
     (Tier.GENERAL, (), None, None, None, Label.UNKNOWN, None, False)),
    (FormAdvice, True, {}, (Need.CRAMPS, (Form.GLYCINATE, Form.CITRATE)), (None, ())),
    (Snapshot, True, {"version": 0}, ({"bedtime": "22:30"}, 3), ({}, 0)),
    (Change, True, {"value": None, "added": (), "removed": (), "is_list": False}, ("22:30", (), (), False),
     (None, ("2026-11-01",), ("2026-10-31",), True)),
    (HttpResponse, True, {}, (200, [("Content-Type", "application/json")], "{}"), (503, [], "")),
    (SkillReminder, True, {}, ("nightly-token", True), ("nightly-token", False)),
    (CircuitBreaker, False, {"failures": 5, "cooldown": 30.0, "max_in_flight": 4, "clock": time.monotonic,
                             "state": "closed", "in_flight": 0, "failed_in_a_row": 0, "opened_at": 0.0, "refused": 0,
                             "_slots": Fresh(threading.Condition)},
     (3, 10.0, 2, time.monotonic, "open", 1, 3, 12.5, 4, threading.Condition()),
     (5, 30.0, 4, time.monotonic, "closed", 0, 0, 0.0, 0, threading.Condition())),
    (Breakers, False, {"failures": 5, "cooldown": 30.0, "max_in_flight": 4, "clock": time.monotonic,
                       "_by_host": Fresh(dict), "_lock": Fresh(threading.Lock)},
     (2, 5.0, 1, time.monotonic, {}, threading.Lock()), (5, 30.0, 4, time.monotonic, {}, threading.Lock())),
    (_Turn, False, {"version": 0, "fresh": True, "unsaved": False}, (UserProfile(bedtime="22:30"), {"bedtime": "22:30"}, 2,
                                                                    False, True), (UserProfile(), {}, 0, True, False)),
    (Services, False, {"clock": utc_now, "default_time_zone": "America/New_York", "alexa_api": True, "api_client": None,
                       "api_budget_s": 3.5, "api_call_timeout_s": 2.5, "api_allow_loopback": False,
                       "breakers": Fresh(Breakers)},
     (utc_now, "Europe/London", False, None, 1.0, 0.5, True, BREAKERS),
     (utc_now, "America/New_York", True, None, 3.5, 2.5, False, Breakers())),
]


@pytest.mark.parametrize(("cls", "frozen", "defaults", "one", "other"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_each_behaves_as_its_dataclass(
    cls: type, frozen: bool, defaults: dict[str, Any], one: tuple[Any, ...], other: tuple[Any, ...]
) -> None:
    ref = reference(cls, frozen, defaults)
    ours, theirs = cls(*one), ref(*one)
    assert repr(ours) == repr(theirs)
    assert ours == cls(*one) and ours != cls(*other) and ours != theirs  # another class is never equal
    assert cls(**dict(zip(cls._fields, one))) == ours  # type: ignore[attr-defined]  # keywords as positions
    required = [name for name in cls._fields if name not in defaults]  # type: ignore[attr-defined]
    assert repr(cls(*one[:len(required)])) == repr(ref(*one[:len(required)]))  # the defaults
    if frozen:
        hashable = all(not isinstance(v, dict | list) for v in one)
        if hashable:
            assert hash(ours) == hash(cls(*one))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(ours, cls._fields[0], one[0])  # type: ignore[attr-defined]
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(ours, cls._fields[0])  # type: ignore[attr-defined]
    else:
        with pytest.raises(TypeError):
            hash(ours)  # mutable and compared by value: unhashable, as @dataclass leaves it
        setattr(ours, cls._fields[0], other[0])  # type: ignore[attr-defined]
        assert getattr(ours, cls._fields[0]) == other[0]  # type: ignore[attr-defined]
    assert copy.copy(ours) == ours and copy.copy(theirs) == theirs
    if any(isinstance(v, Breakers | type(threading.Lock()) | threading.Condition) for v in one):
        # A lock cannot be copied deeply nor pickled: neither the twin's nor ours.
        with pytest.raises(TypeError):
            copy.deepcopy(theirs)
        with pytest.raises(TypeError):
            copy.deepcopy(ours)
        with pytest.raises(TypeError):
            pickle.dumps(ours)
    else:
        assert copy.deepcopy(ours) == ours
        assert pickle.loads(pickle.dumps(ours)) == ours


def test_defaults_are_fresh_dicts_and_the_states_change_with_dataclasses_replace() -> None:
    first, second = Line("launch"), Line("help")
    assert first.params == {} and first.params is not second.params
    assert Spoken("<speak/>", None, None, None, ()).replay == {}
    state = State()
    changed = dataclasses.replace(state, waiting=Waiting.BEDTIME, conditions=frozenset({"pregnancy"}))
    assert changed.waiting is Waiting.BEDTIME and changed.conditions == {"pregnancy"} and state.waiting is Waiting.NOTHING
    condition = next(iter(Condition))
    assert state.with_condition(condition).conditions == {condition.value} and state.conditions == frozenset()
    reply = Reply([Line("launch")], ask=Line("help"))
    assert dataclasses.replace(reply, soft=True) == Reply([Line("launch")], ask=Line("help"), soft=True)
    assert [f.name for f in dataclasses.fields(State)] == list(State._fields)
    assert [f.name for f in dataclasses.fields(Reply)] == list(Reply._fields)


def test_defaults_that_hold_state_are_made_afresh_for_each_instance() -> None:
    # As default_factory made them: two services never share their circuit breakers, nor two breakers a lock.
    assert Services().breakers is not Services().breakers and repr(Services().breakers) == repr(Breakers())
    assert Services().breakers != Services().breakers  # each holds its own lock, compared as @dataclass compares it
    first, second = Breakers(), Breakers()
    assert first._by_host is not second._by_host and first._lock is not second._lock
    assert CircuitBreaker()._slots is not CircuitBreaker()._slots
    assert first.for_host("api.amazonalexa.com") is first.for_host("api.amazonalexa.com")
    assert second._by_host == {}
