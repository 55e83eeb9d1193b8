"""A response envelope as JSON data: the ASK SDK serializer's result, for less of its time.

`DefaultSerializer.serialize` asks a dozen isinstance questions of every value and rebuilds each
model through a generic walk; on this skill's answers (several sentences, a card, a reprompt and
the "repeat" state) that is 25-55 µs of a request, about twice hello's. This walks the same
models the same way (`deserialized_types` order, `attribute_map` names, None left out) with one
type lookup for the common values, and hands anything else (enums, dates, decimals, tuples,
subclasses of the plain types) to the SDK's own serializer, so the result is the same data.
tests/test_responses.py holds it to the SDK's output on every sample request and on arbitrary
session attributes.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from ask_sdk_core.serialize import DefaultSerializer

_SDK = DefaultSerializer()
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})


def to_data(obj: Any) -> Any:
    """What `DefaultSerializer().serialize(obj)` returns, for an SDK model or JSON-like data."""
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is dict:
        return {key: to_data(value) for key, value in obj.items()}
    if kind is list:
        return [to_data(item) for item in obj]
    names = getattr(kind, "attribute_map", None)
    if names is not None and not isinstance(obj, Enum):
        data = {}
        for attr in kind.deserialized_types:
            value = getattr(obj, attr)
            if value is not None:
                data[names.get(attr, attr)] = to_data(value)  # a name missing from the map stays as it is
        return data
    return _SDK.serialize(obj)
