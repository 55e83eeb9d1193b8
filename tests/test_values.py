"""The conversation's value classes behave as the dataclasses they replaced (skill.state.Value says why).

Each is held against a reference built with @dataclass from the same fields: the same repr, the
same equality and hashing, frozen where it was frozen, a fresh dict for each default, and
dataclasses.replace, copy and pickle still work.
"""
from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from skill.knowledge import Condition, Form
from skill.speech import Line, Reply, Spoken
from skill.state import DoseAsked, State, Topic, Waiting


def reference(cls: type, frozen: bool, defaults: dict[str, Any]) -> type:
    """A @dataclass with the fields of `cls` in order, named the same, so reprs compare as text."""
    fields: list[Any] = []
    for name in cls._fields:  # type: ignore[attr-defined]
        if name in defaults:
            default = defaults[name]
            fields.append((name, Any, dataclasses.field(default_factory=default) if callable(default) else
                           dataclasses.field(default=default)))
        else:
            fields.append((name, Any))
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=frozen)


DOSE = DoseAsked(300.0, Form.GLYCINATE, 2)
CASES: list[tuple[type, bool, dict[str, Any], tuple[Any, ...], tuple[Any, ...]]] = [
    # class, frozen, defaults, one set of values, another
    (DoseAsked, True, {"amount_mg": None, "form": None, "count": None}, (300.0, Form.GLYCINATE, 2), (400.0, None, None)),
    (State, True, {"waiting": Waiting.NOTHING, "then": None, "topic": None, "dose": None, "conditions": frozenset,
                   "last_said": None, "profile": None},
     (Waiting.MORE, "details", Topic.DOSE, DOSE, frozenset({"kidney"}), None, None),
     (Waiting.NOTHING, None, None, None, frozenset(), {"lines": []}, {"bedtime": "22:30"})),
    (Line, True, {"params": dict, "variant": None, "reprompt_variant": None}, ("launch", {"a": 1}, 0, None),
     ("help", {}, None, 1)),
    (Spoken, True, {"replay": dict}, ("<speak>Hi</speak>", None, "T", "Hi", ("launch",), {"soft": False}),
     ("<speak>Bye</speak>", "<speak>?</speak>", None, None, (), {})),
    (Reply, False, {"ask": None, "end": False, "more": None, "soft": False, "card": True, "waiting": Waiting.NOTHING,
                    "then": None, "topic": None, "dose": None},
     ([Line("launch")], Line("help"), False, None, True, True, Waiting.CHECKIN, None, Topic.SAFETY, DOSE),
     ([], None, True, "more.details", False, False, Waiting.NOTHING, "x", None, None)),
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
    assert copy.deepcopy(ours) == ours and copy.copy(ours) == ours
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
