"""Value classes without @dataclass's compile step: equality, hash, repr, frozenness and copying, written once.

@dataclass compiles the methods it generates on every import, about a millisecond a class on each
Lambda cold start (see skill/fields.py). A class that only needs what @dataclass would generate
names its fields in `_fields`, writes its own `__init__` (the one method on the request path) and
takes the rest from `Value` (mutable, so unhashable, as @dataclass(eq=True) leaves it) or `Frozen`
(@dataclass(frozen=True)). tests/test_values.py holds each such class to a @dataclass twin.
Plain Python with no project imports, so the knowledge layer can use it too.
"""
from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar


class Value:
    """Equality, repr and copying over `_fields`, as @dataclass writes them, less compiling them."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _unshown: ClassVar[frozenset[str]] = frozenset()  # fields left out of repr: dataclasses.field(repr=False)

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # as @dataclass(eq=True) leaves a mutable class

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields if n not in self._unshown)
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._values()  # copy and pickle rebuild through __init__


class Frozen(Value):
    """A Value that cannot change once built, hashed by its fields: @dataclass(frozen=True)."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # Value has none: a mutable value is unhashable
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


# "Not given", for a field whose default is made afresh for each instance (a dataclass default_factory).
FRESH: Any = object()
