"""Run one request envelope through the skill, JSON in and JSON out; every entry point uses it."""
from __future__ import annotations

import json
import logging
import math
from typing import Any

from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import Request, RequestEnvelope, ResponseEnvelope

from skill.handlers.events import SPOKEN_REQUEST_TYPES
from skill.responses import to_data

log = logging.getLogger(__name__)

# Every request type ask-sdk-model can deserialise (59 in 1.82, the newest release; the Alexa request
# reference's list). A type outside it is one Alexa added later: it gets an empty answer, not a 400.
KNOWN_REQUEST_TYPES: frozenset[str] = frozenset(Request.discriminator_value_class_map)
# No Alexa envelope nests anywhere near this deep (session attributes are ours and shallow); the
# SDK deep-copies session attributes recursively, so ~850 levels would be a RecursionError and a 500.
MAX_DEPTH = 64
# What Alexa accepts when the skill has nothing to say or do (AudioPlayer and events included).
EMPTY_RESPONSE_VERSION = "1.0"


def application_id(payload: Any) -> str | None:
    """The skill id an envelope is addressed to: context.System's, else session's (older envelopes).

    The session is read only when context.System has no application at all, as `with_system` fills it:
    ask-sdk checks context.System's id alone, so an application there without a string id is no id
    (a 400), never a session id that would pass here and fail in the SDK (a 500).
    """
    for path in (("context", "System", "application"), ("session", "application")):
        node: Any = payload
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found = node.get("applicationId")
            return found if isinstance(found, str) else None
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


def _finite_float(text: str) -> float:
    # "1e400" is valid JSON that float() turns into inf, which parse_constant never sees;
    # echoed back in sessionAttributes it would be "Infinity", which is not JSON.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_json(body: bytes | str) -> Any:
    """Parse strict JSON: NaN, Infinity and numbers too large for a float are refused
    (Alexa never sends them, and we must not echo them)."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def empty_answer() -> dict[str, Any]:
    """The response envelope for a request that needs nothing back: no speech, no card, no session flag."""
    return {"version": EMPTY_RESPONSE_VERSION, "response": {}}


def nested_deeper_than(node: Any, limit: int) -> bool:
    """True when lists and objects nest more than `limit` levels; iterative, so depth cannot overflow it."""
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


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
    # Counting brackets is a C-speed scan; only a body with more of them than the limit can nest that deep.
    if (text is None or text.count("{") + text.count("[") > MAX_DEPTH) and nested_deeper_than(payload, MAX_DEPTH):
        raise BadEnvelope("nested too deeply")
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
    system = context.get("System") if context is not None else None
    if system is not None and not isinstance(system, dict):
        raise BadEnvelope("context.System must be an object")
    return payload


def with_system(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the envelope with context.System naming the application and the user.

    Older envelopes (and some test tools) carry them only in `session`; ask-sdk reads them from
    context.System alone (its skill-id check, its API client, the store's key), so they are copied
    across. A checked payload is not changed in place: a new top level and context are built.
    """
    context = payload.get("context")
    system = context.get("System") if isinstance(context, dict) else None
    if isinstance(system, dict) and isinstance(system.get("application"), dict) and isinstance(system.get("user"), dict):
        return payload  # the usual case: nothing to fill in
    raw_session = payload.get("session")
    session: dict[str, Any] = raw_session if isinstance(raw_session, dict) else {}
    filled = dict(system) if isinstance(system, dict) else {}
    for part in ("application", "user"):
        if not isinstance(filled.get(part), dict) and isinstance(session.get(part), dict):
            filled[part] = session[part]
    if not filled:
        raise BadEnvelope("missing context.System")
    return {**payload, "context": {**(context if isinstance(context, dict) else {}), "System": filled}}


# A launch as Alexa sends one, with no one's ids: what SkillRunner.warm reads.
_SAMPLE_LAUNCH = json.dumps({
    "version": "1.0",
    "context": {"System": {"application": {"applicationId": "amzn1.ask.skill.warm"}, "user": {"userId": "warm"}}},
    "request": {"type": "LaunchRequest", "requestId": "warm", "timestamp": "2020-01-01T00:00:00Z", "locale": "en-US"},
})


class SkillRunner:
    """Deserialise, invoke and serialise with the SDK's own models."""

    def __init__(self, skill: CustomSkill) -> None:
        self.skill = skill
        self.serializer = DefaultSerializer()

    def warm(self) -> None:
        """Read a sample launch, so what the request reader loads on first use is loaded now.

        Before a SnapStart snapshot (skill.snapstart): dateutil's parser, which the SDK imports to read
        the first timestamp, is then in the snapshot rather than in each restored container's first
        answer (about 6 of its 8 ms here). Nothing is invoked: no handler runs, nothing is stored.
        """
        self._deserialize(_SAMPLE_LAUNCH)

    def checked(self, payload: Any) -> tuple[dict[str, Any], str]:
        """Check a payload (from HTTP or straight from Lambda) and return it with its JSON text.

        Raises BadEnvelope for anything the SDK could not answer safely: not an object, numbers
        JSON cannot carry (inf from "1e400", NaN), nesting deep enough to overflow the SDK's copies,
        a wrong application id, or no context.System to answer for.
        """
        if not isinstance(payload, dict):
            raise BadEnvelope("body must be a JSON object")
        try:
            text = json.dumps(payload, allow_nan=False)
        except RecursionError:
            raise BadEnvelope("nested too deeply") from None
        except ValueError as exc:
            raise BadEnvelope("numbers must be finite" if "float" in str(exc) else "body must be JSON data") from exc
        except TypeError as exc:
            raise BadEnvelope("body must be JSON data") from exc
        check_envelope(payload, text)
        filled = with_system(payload)
        if filled is not payload:
            text = json.dumps(filled, allow_nan=False)
        skill_id = self.skill.skill_id
        # Checked here rather than left to ask-sdk, whose check reads context.System.application
        # unguarded: an envelope without it would be an AttributeError (HTTP 500, a Lambda error).
        if skill_id is not None and application_id(filled) != skill_id:
            raise BadEnvelope("wrong application id")
        return filled, text

    def envelope(self, payload: dict[str, Any]) -> RequestEnvelope:
        """Turn a payload into the SDK's request model (after `checked`)."""
        payload, text = self.checked(payload)
        return self._deserialize(text)

    def _deserialize(self, text: str) -> RequestEnvelope:
        try:
            envelope = self.serializer.deserialize(text, RequestEnvelope)
        except SerializationException as exc:
            raise BadEnvelope("not an Alexa request envelope") from exc
        if envelope is None or envelope.request is None:
            raise BadEnvelope("not an Alexa request envelope")
        return envelope

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Answer one request envelope (as parsed JSON) with a response envelope (as JSON data)."""
        payload, text = self.checked(payload)
        kind = payload["request"]["type"]
        if kind not in KNOWN_REQUEST_TYPES:
            # A request type newer than ask-sdk-model cannot be deserialised; Alexa expects a 200
            # for it all the same, and there is nothing the skill could say to it.
            log.info("request type %s is not one the SDK knows; answered empty", kind[:100])
            return empty_answer()
        try:
            envelope = self._deserialize(text)
        except BadEnvelope:
            if kind in SPOKEN_REQUEST_TYPES:
                raise
            # An event or player request with a value newer than ask-sdk-model's enums (a new error
            # type, a new session-end reason): nothing to say to it either way, so not a 400.
            log.warning("%s could not be read by ask-sdk-model (a newer value?); answered empty", kind[:100])
            return empty_answer()
        response: ResponseEnvelope = self.skill.invoke(request_envelope=envelope, context=None)
        return to_data(response)  # the SDK serializer's output, in less time (skill/responses.py)
