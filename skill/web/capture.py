"""Request capture for debugging: an envelope as a replayable log line, with ids and tokens removed."""
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


def _parent(node: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to keep in a log: ids become stable pseudonyms, tokens are dropped."""
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
    return clean
