"""Saves that never lose a write: versioned rows, conflicts, and per-field changes.

Every stored profile carries a version. A write names the version it read; the store refuses it
(``VersionConflict``) if anyone wrote since, and the caller reads again and re-applies its change.
What a request changed is kept as a per-field difference from what it read (``changes``), so
re-applying it to the latest row (``apply``) keeps everybody else's fields: "my bedtime is 10:30"
and "remember glycinate" for one person at the same instant both stay.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable


if TYPE_CHECKING:
    from ask_sdk_model import RequestEnvelope

# A row that was never written, or written before rows had versions.
UNVERSIONED = 0


class VersionConflict(Exception):
    """Someone wrote this person's row after it was read; read it again and re-apply the change."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One person's stored attributes and the version they were read at."""

    attributes: dict[str, Any]
    version: int = UNVERSIONED


@runtime_checkable
class VersionedStore(Protocol):
    """A persistence adapter that can compare-and-swap a person's row."""

    def read(self, request_envelope: RequestEnvelope) -> Snapshot:
        """Return the stored attributes and their version ({} and 0 when there is no row)."""
        ...

    def write(self, request_envelope: RequestEnvelope, attributes: dict[str, Any], expected: int) -> int:
        """Store the attributes if the row is still at ``expected``; return the new version.

        Raises VersionConflict when it is not, PersistenceException when the store fails.
        """
        ...


@dataclass(frozen=True, slots=True)
class Change:
    """What one request did to one field: a new value, or items added to and removed from a list."""

    value: Any = None
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    is_list: bool = False


def changes(base: Mapping[str, Any], mine: Mapping[str, Any]) -> dict[str, Change]:
    """The fields ``mine`` changed relative to ``base`` (both JSON attributes)."""
    found: dict[str, Change] = {}
    for name in base.keys() | mine.keys():
        before, after = base.get(name), mine.get(name)
        if before == after:
            continue
        if _list_like(before, after):
            # Lists are sets of things (nights, reminder ids): two requests adding one each keep both.
            old, new = _items(before), _items(after)
            found[name] = Change(
                added=tuple(item for item in new if item not in old),
                removed=tuple(item for item in old if item not in new),
                is_list=True,
            )
        else:
            found[name] = Change(value=after)
    return found


def apply(found: Mapping[str, Change], latest: Mapping[str, Any]) -> dict[str, Any]:
    """The latest attributes with these changes made again; fields nobody here touched stay as they are."""
    merged = dict(latest)
    for name, change in found.items():
        if not change.is_list:
            merged[name] = change.value
            continue
        current = latest.get(name)
        items = [item for item in _items(current) if item not in change.removed]
        items += [item for item in change.added if item not in items]
        merged[name] = items
    return merged


def _list_like(before: Any, after: Any) -> bool:
    """True when a field is a list on at least one side and a list or nothing on the other."""
    sides = (before, after)
    return any(isinstance(v, list) for v in sides) and all(v is None or isinstance(v, list) for v in sides)


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
