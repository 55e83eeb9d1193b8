"""Request and response logging that never writes a user id, or what a person said, in clear."""
from __future__ import annotations

import logging
import time

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_request_type
from ask_sdk_model import IntentRequest, Response

from skill.digest import sha256_hex

log = logging.getLogger("skill.requests")
_STARTED = "_started"


def pseudonym(user_id: str | None) -> str:
    """A short, stable stand-in for a user id, so logs can follow a session without naming anyone."""
    if not user_id:
        return "-"
    return sha256_hex(user_id.encode("utf-8"))[:12]


def describe(handler_input: HandlerInput) -> dict[str, str | None]:
    """The loggable facts of a request: its type, intent, id and a pseudonymous user."""
    envelope = handler_input.request_envelope
    request = envelope.request
    system = envelope.context.system if envelope.context else None
    user = system.user.user_id if system and system.user else None
    intent = request.intent.name if isinstance(request, IntentRequest) and request.intent else None
    return {
        "request_id": getattr(request, "request_id", None),
        "request_type": str(get_request_type(handler_input)),
        "intent": intent,
        "user": pseudonym(user),
    }


class RequestLogger(AbstractRequestInterceptor):
    """Log each request's type and intent (slot values are what a person said, so they stay out)."""

    def process(self, handler_input: HandlerInput) -> None:
        handler_input.attributes_manager.request_attributes[_STARTED] = time.perf_counter()
        if log.isEnabledFor(logging.DEBUG):  # describing a request costs more than the check
            log.debug("request", extra={"alexa": describe(handler_input)})


class ResponseLogger(AbstractResponseInterceptor):
    """Log how each request ended: session open or closed, and how long the skill took."""

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        started = handler_input.attributes_manager.request_attributes.get(_STARTED)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2) if isinstance(started, float) else None
        info = describe(handler_input) | {
            "ends_session": None if response is None else response.should_end_session,
            "skill_ms": elapsed_ms,
        }
        log.debug("handled %s %s", info["request_type"], info["intent"] or "", extra={"alexa": info})
