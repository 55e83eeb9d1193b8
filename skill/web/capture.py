"""Request capture for debugging: an envelope as a replayable log line that keeps only known-safe fields.

The envelope is walked along ask-sdk-model's own types, and a value is kept only when it is known to
be safe: a field on the allow-list below (`KEPT`: version; the request's type, id and locale; intent
and slot names; session and application ids), a viewport's numbers, or a value of a closed form (an
enum member, true or false, an ISO date-time, the type name that picks a model's subclass). Anything
else becomes "REDACTED" (0 for a number, 1970 for a time), the name of a field ask-sdk-model does not
know and every key of free-form data included. The structure stays, so a capture still parses as a
RequestEnvelope and replays. User, device and person ids become the stable pseudonyms the log lines
use; tokens, grant codes, consent tokens and the apiAccessToken are never written.

What a person said (slots), what the session remembers (its attributes, where `last_said` names the
gate) and Alexa's error messages are written only with `personal=True` (BEDTIME_CAPTURE_PERSONAL),
to replay a multi-turn bug.
"""
from __future__ import annotations

import copy
import importlib
import re
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from ask_sdk_model import Application, Device, Intent, Person, Request, RequestEnvelope, Session, Slot, User
from ask_sdk_model.interfaces.connections import ConnectionsRequest, ConnectionsResponse
from ask_sdk_model.interfaces.system.error import Error
from ask_sdk_model.session_ended_error import SessionEndedError
from ask_sdk_model.slot_value import SlotValue

from skill.interceptors import pseudonym
from skill.runtime import MAX_DEPTH, nested_deeper_than
from skill.state import KEYS as STATE_KEYS

REDACTED = "REDACTED"
NO_TIME = "1970-01-01T00:00:00Z"  # stands in for a time that is not ISO 8601 (so could hold anything)

# Kept as sent, by the model class that declares the field (its subclasses too): what a capture
# needs to replay and to be read, none of it said by a person or granting access.
KEPT: dict[type, frozenset[str]] = {
    RequestEnvelope: frozenset({"version"}),
    Request: frozenset({"type", "requestId", "locale"}),  # its timestamp is kept as any date-time is
    Intent: frozenset({"name"}),
    Slot: frozenset({"name"}),
    Session: frozenset({"sessionId"}),
    Application: frozenset({"applicationId"}),
    # The name of the connection the skill itself asked for ("AskFor"), which picks the handler.
    ConnectionsResponse: frozenset({"name"}),
    ConnectionsRequest: frozenset({"name"}),
}
# Ids that follow a person or a device: a stable pseudonym keeps a session followable, the prefix is
# the field's own (never taken from the value, which could be anything).
IDS: dict[tuple[type, str], str] = {
    (User, "userId"): "amzn1.ask.account",
    (Device, "deviceId"): "amzn1.ask.device",
    (Person, "personId"): "amzn1.ask.person",
}
# What a person said, written only when personal capture asks for it.
PERSONAL_MODELS: tuple[type, ...] = (Slot, SlotValue)
# Alexa's words on why it refused a response, which can quote what the skill said about someone's health:
# written only when personal capture asks for it too (the skill's own log line gives the error's type alone).
PERSONAL_FIELDS: dict[type, frozenset[str]] = {SessionEndedError: frozenset({"message"}), Error: frozenset({"message"})}
# A screen's sizes and densities (context.Viewport, context.Viewports): numbers that name no one.
VIEWPORT_MODULE = "ask_sdk_model.interfaces.viewport."

# Said at start-up when what people say is captured.
PERSONAL_WARNING = (
    "BEDTIME_CAPTURE_PERSONAL is on: captured requests keep slot values, session attributes and Alexa's error "
    "messages, so a person's health words may reach the log (ids and tokens still do not). Debugging only."
)

_LIST = re.compile(r"list\[(.*)\]")
_DICT = re.compile(r"dict\(([^,]*), (.*)\)")


def redact(payload: dict[str, Any], *, personal: bool = False) -> dict[str, Any]:
    """A copy safe to keep in a log; with `personal`, slot values, session attributes and error messages too."""
    if nested_deeper_than(payload, MAX_DEPTH):
        # The skill refuses it (HTTP 400) and the walk below would recurse that deep.
        return {"version": REDACTED, "capture": "nested too deeply"}
    clean: dict[str, Any] = _Walk(personal).model(payload, RequestEnvelope)
    return clean


class _Walk:
    """One envelope's way through the models: each field's value by the type its model declares."""

    def __init__(self, personal: bool) -> None:
        self.personal = personal

    def model(self, node: Any, cls: type) -> Any:
        if not isinstance(node, dict):
            return _free(node)
        cls = _subclass(cls, node)
        if self.personal and issubclass(cls, PERSONAL_MODELS):
            return copy.deepcopy(node)
        types = _fields(cls)
        clean: dict[str, Any] = {}
        for key, value in node.items():
            if key in types:
                clean[key] = self.field(cls, key, value, types[key])
            else:
                clean[REDACTED] = REDACTED  # a field ask-sdk-model does not know could be named anything
        return clean

    def field(self, cls: type, key: str, value: Any, kind: str) -> Any:
        prefix = _id_prefix(cls, key)
        if prefix is not None:
            return f"{prefix}.REDACTED{pseudonym(value)}" if isinstance(value, str) else _free(value)
        if key in _kept(cls) and isinstance(value, str | int | float | bool):
            return value
        if self.personal and key in PERSONAL_FIELDS.get(cls, ()) and isinstance(value, str):
            return value
        if key == _discriminator(cls) and _picks_subclass(cls, value):
            return value
        if issubclass(cls, Session) and key == "attributes":
            # Where `last_said` names the gate and `conditions` what was said: the skill's own key names only.
            return copy.deepcopy(value) if self.personal else _free(value, STATE_KEYS)
        return self.typed(value, kind, numbers=cls.__module__.startswith(VIEWPORT_MODULE))

    def typed(self, node: Any, kind: str, *, numbers: bool = False) -> Any:
        if node is None:
            return None
        if match := _LIST.fullmatch(kind):
            return [self.typed(item, match[1], numbers=numbers) for item in node] if isinstance(node, list) else _free(node)
        if match := _DICT.fullmatch(kind):
            if not isinstance(node, dict) or match[2] == "object":
                return _free(node)  # keys of free-form data are data
            named = "name" in _kept(_load(match[2]))
            # A key is kept when the model under it carries it as its kept name (a slot under its name).
            return {key if named and isinstance(value, dict) and value.get("name") == key else REDACTED:
                    self.typed(value, match[2], numbers=numbers) for key, value in node.items()}
        if kind == "bool":
            return node if isinstance(node, bool) else REDACTED
        # A number or a time in the wrong form still becomes one, so the capture reads wherever the request did.
        if kind in ("int", "float"):
            return node if numbers and isinstance(node, int | float) and not isinstance(node, bool) else 0
        if kind in ("datetime", "date"):
            return node if _is_time(node) else NO_TIME
        if kind in ("str", "object"):
            return _free(node)
        cls = _load(kind)
        if issubclass(cls, Enum):
            return node if isinstance(node, str) and node in _enum_values(cls) else REDACTED
        return self.model(node, cls)


def _free(node: Any, known: frozenset[str] | tuple[str, ...] = ()) -> Any:
    """Free-form data with nothing of it kept: every value REDACTED, and every key not in `known`."""
    if isinstance(node, dict):
        return {(key if key in known else REDACTED): REDACTED for key in node}
    if isinstance(node, list):
        return [REDACTED for _ in node]
    return None if node is None else REDACTED


def _subclass(cls: type, node: dict[str, Any]) -> type:
    """The subclass a polymorphic model's type name picks, as the SDK's deserialiser picks it; else `cls`."""
    key = _discriminator(cls)
    if key is not None and _picks_subclass(cls, node.get(key)):
        return _load(cls.discriminator_value_class_map[node[key]])  # type: ignore[attr-defined]
    return cls


def _discriminator(cls: type) -> str | None:
    key = getattr(cls, "json_discriminator_key", None)
    return key if isinstance(key, str) else None


def _picks_subclass(cls: type, value: Any) -> bool:
    return isinstance(value, str) and value in (getattr(cls, "discriminator_value_class_map", None) or {})


def _is_time(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


@cache
def _load(name: str) -> type:
    module, _, attribute = name.rpartition(".")
    found: type = getattr(importlib.import_module(module), attribute)
    return found


@cache
def _fields(cls: type) -> dict[str, str]:
    """A model's fields by their JSON names, with the types the SDK deserialises them as."""
    names: dict[str, str] = getattr(cls, "attribute_map", {})
    types: dict[str, str] = getattr(cls, "deserialized_types", {})
    return {names.get(attribute, attribute): kind for attribute, kind in types.items()}


@cache
def _kept(cls: type) -> frozenset[str]:
    return frozenset().union(*(KEPT.get(base, frozenset()) for base in cls.__mro__))


def _id_prefix(cls: type, key: str) -> str | None:
    return next((prefix for (owner, name), prefix in IDS.items() if key == name and issubclass(cls, owner)), None)


@cache
def _enum_values(cls: type[Enum]) -> frozenset[Any]:
    return frozenset(member.value for member in cls)

