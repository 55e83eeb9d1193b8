"""Request capture for debugging: an envelope as a replayable log line, with ids, tokens and health words removed.

What a person said about their health never reaches a log: the value of every health-bearing slot
(`condition`, or any slot resolved against ConditionType) is replaced, and so is anything the
session remembers under a key naming a condition. Other slots stay, so a capture still replays.
"""
from __future__ import annotations

import copy
from typing import Any

from skill.interceptors import pseudonym

# Where Alexa puts things that identify a person or grant access, as dotted paths.
_ID_PATHS = (
    ("session", "user", "userId"),
    ("context", "System", "user", "userId"),
    ("context", "System", "device", "deviceId"),
    ("context", "System", "person", "personId"),
)
_SECRET_PATHS = (
    ("context", "System", "apiAccessToken"),
    ("session", "user", "accessToken"),
    ("context", "System", "user", "accessToken"),
    ("session", "user", "permissions"),
    ("context", "System", "user", "permissions"),
)


HEALTH_SLOT_NAMES = frozenset({"condition"})
HEALTH_SLOT_TYPE = "ConditionType"
REDACTED = "REDACTED"


def _health_bearing(name: str, slot: dict[str, Any]) -> bool:
    """A slot that names a health condition: by its name, or by the slot type its values resolved against."""
    if name.lower() in HEALTH_SLOT_NAMES or "condition" in name.lower():
        return True
    authorities = (slot.get("resolutions") or {}).get("resolutionsPerAuthority") or []
    return any(
        isinstance(a, dict) and str(a.get("authority", "")).endswith("." + HEALTH_SLOT_TYPE) for a in authorities
    )


def _redact_slots(clean: dict[str, Any]) -> None:
    intent = (clean.get("request") or {}).get("intent") if isinstance(clean.get("request"), dict) else None
    slots = intent.get("slots") if isinstance(intent, dict) else None
    if not isinstance(slots, dict):
        return
    for name, slot in slots.items():
        if isinstance(slot, dict) and _health_bearing(str(name), slot):
            if "value" in slot:
                slot["value"] = REDACTED
            # Resolutions and slotValue repeat what was heard, and the resolved name says it plainly.
            slot.pop("resolutions", None)
            slot.pop("slotValue", None)


def _redact_health_keys(node: Any) -> Any:
    """Session attributes with every value kept under a key that names a condition replaced."""
    if isinstance(node, dict):
        return {k: REDACTED if "condition" in str(k).lower() else _redact_health_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_health_keys(v) for v in node]
    return node


def _parent(node: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to keep in a log: ids become stable pseudonyms, tokens and health words are dropped."""
    clean = copy.deepcopy(payload)
    for path in _ID_PATHS:
        parent = _parent(clean, path)
        if parent is not None and isinstance(parent.get(path[-1]), str):
            prefix = parent[path[-1]].rsplit(".", 1)[0] if "." in parent[path[-1]] else "id"
            parent[path[-1]] = f"{prefix}.REDACTED{pseudonym(parent[path[-1]])}"
    for path in _SECRET_PATHS:
        parent = _parent(clean, path)
        if parent is not None:
            parent.pop(path[-1], None)
    _redact_slots(clean)
    session = clean.get("session")
    if isinstance(session, dict) and isinstance(session.get("attributes"), dict):
        session["attributes"] = _redact_health_keys(session["attributes"])
    return clean
