"""Run one request envelope through the skill, JSON in and JSON out; every entry point uses it."""
from __future__ import annotations

import json
from typing import Any

from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope, ResponseEnvelope

from skill.responses import to_data

KNOWN_REQUEST_TYPES_PREFIXES = ("LaunchRequest", "IntentRequest", "SessionEndedRequest", "CanFulfillIntentRequest")


def application_id(payload: Any) -> str | None:
    """The skill id an envelope is addressed to: context.System first, then session (older envelopes)."""
    for path in (("context", "System", "application"), ("session", "application")):
        node: Any = payload
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("applicationId"), str):
            return str(node["applicationId"])
    return None


def describe_payload(payload: Any) -> dict[str, Any]:
    """Request id, type and intent of a parsed body, for the log line; nothing a person said."""
    request_part = payload.get("request") if isinstance(payload, dict) else None
    if not isinstance(request_part, dict):
        return {}
    intent = request_part.get("intent")
    return {
        "request_id": str(request_part.get("requestId"))[:100] if request_part.get("requestId") else None,
        "request_type": str(request_part.get("type"))[:100],
        "intent": str(intent.get("name"))[:100] if isinstance(intent, dict) and intent.get("name") else None,
    }


class BadEnvelope(ValueError):
    """A body that is not an Alexa request envelope; `reason` is safe to send back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes | str) -> Any:
    """Parse strict JSON: NaN and Infinity are refused (Alexa never sends them, and we must not echo them)."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _has_reserved_key(node: Any, depth: int = 0) -> bool:
    """True for keys the SDK's deserialiser would set as Python attributes ("__dict__", "object_type")."""
    if depth > 64:
        return True  # no Alexa envelope nests this deep
    if isinstance(node, dict):
        return any(
            (isinstance(k, str) and (k.startswith("__") or k == "object_type")) or _has_reserved_key(v, depth + 1)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return any(_has_reserved_key(item, depth + 1) for item in node)
    return False


def check_envelope(payload: Any, text: str | None = None) -> dict[str, Any]:
    """Refuse anything that is not shaped like an Alexa request, before the SDK sees it.

    `text` is the payload as json.dumps wrote it; when given, the reserved-key walk runs only if
    the text could hold such a key at all (a substring test costs a microsecond, the walk up to 80).
    """
    if not isinstance(payload, dict):
        raise BadEnvelope("body must be a JSON object")
    suspicious = text is None or '"__' in text or '"object_type"' in text
    if suspicious and _has_reserved_key(payload):
        # ask-sdk's deserialiser setattr()s unknown keys, so "__dict__" would wipe the model.
        raise BadEnvelope("reserved key in body")
    request = payload.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        raise BadEnvelope("missing request.type")
    if not isinstance(payload.get("version"), str):
        raise BadEnvelope("missing version")
    context = payload.get("context")
    if context is not None and not isinstance(context, dict):
        raise BadEnvelope("context must be an object")
    session = payload.get("session")
    if session is not None and not isinstance(session, dict):
        raise BadEnvelope("session must be an object")
    if session is not None and session.get("attributes") is not None and not isinstance(session["attributes"], dict):
        raise BadEnvelope("session.attributes must be an object")
    return payload


class SkillRunner:
    """Deserialise, invoke and serialise with the SDK's own models."""

    def __init__(self, skill: CustomSkill) -> None:
        self.skill = skill
        self.serializer = DefaultSerializer()

    def envelope(self, payload: dict[str, Any]) -> RequestEnvelope:
        """Turn a checked payload into the SDK's request model."""
        if not isinstance(payload, dict):
            raise BadEnvelope("body must be a JSON object")
        try:
            text = json.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise BadEnvelope("body must be JSON data") from exc
        check_envelope(payload, text)
        try:
            envelope = self.serializer.deserialize(text, RequestEnvelope)
        except SerializationException as exc:
            raise BadEnvelope("not an Alexa request envelope") from exc
        if envelope is None or envelope.request is None:
            raise BadEnvelope("not an Alexa request envelope")
        return envelope

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer one request envelope (as parsed JSON) with a response envelope (as JSON data)."""
        envelope = self.envelope(payload)
        response: ResponseEnvelope = self.skill.invoke(request_envelope=envelope, context=None)
        return to_data(response)  # the SDK serializer's output, in less time (skill/responses.py)
