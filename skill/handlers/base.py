"""What every handler shares: the voice, slot reading, and the in-session safety context."""
from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_slot
from ask_sdk_model import IntentRequest
from ask_sdk_model.slu.entityresolution import StatusCode

from skill.knowledge import Condition, parse_condition
from skill.speech import Line, Reply, Voice, session_of

# Conditions a person mentioned in this session, so that a later dose answer is gated too.
# They live only in session attributes, which Alexa drops when the session ends; the
# persistence layer has no field for them and never saves them.
SESSION_CONDITIONS = "conditions"


def slot(handler_input: HandlerInput, name: str) -> tuple[str | None, str | None]:
    """Return (resolved id, what was heard) for a slot; either may be None."""
    request = handler_input.request_envelope.request
    if not isinstance(request, IntentRequest) or request.intent is None or not request.intent.slots:
        return None, None
    found = get_slot(handler_input, name)
    if found is None or not found.value:
        return None, None
    heard = str(found.value).strip()[:200] or None  # cap: a slot value is words, not an essay
    resolved = None
    authorities = getattr(found.resolutions, "resolutions_per_authority", None) or []
    for authority in authorities:
        if authority.status and authority.status.code == StatusCode.ER_SUCCESS_MATCH and authority.values:
            resolved = authority.values[0].value.id or authority.values[0].value.name
            break
    return resolved, heard


def session_conditions(handler_input: HandlerInput) -> set[Condition]:
    """The conditions mentioned earlier in this session."""
    raw = session_of(handler_input).get(SESSION_CONDITIONS) or []
    found = {parse_condition(str(item)) for item in raw if isinstance(item, str)}
    return {c for c in found if c is not None}


def remember_condition(handler_input: HandlerInput, condition: Condition) -> None:
    """Keep a mentioned condition for the rest of this session only."""
    session = session_of(handler_input)
    known = set(session.get(SESSION_CONDITIONS) or [])
    known.add(condition.value)
    session[SESSION_CONDITIONS] = sorted(known)


class Handler(AbstractRequestHandler):
    """A request handler that speaks through the shared voice.

    `intents` names the intents it serves; the builder and the model checks read it, so the list
    of handled intents is never kept by hand anywhere else.
    """

    intents: tuple[str, ...] = ()

    def __init__(self, voice: Voice) -> None:
        self.voice = voice

    def can_handle(self, handler_input: HandlerInput) -> bool:
        # Read the intent name once: the dispatcher asks every handler in turn, on every request.
        request = handler_input.request_envelope.request
        return isinstance(request, IntentRequest) and request.intent is not None and request.intent.name in self.intents

    def answer(self, key: str, params: dict | None = None, *, extra: list[Line] | None = None) -> Reply:
        """A short answer that offers its details when the content has them, else asks what next."""
        lines = [Line(key, params or {})] + (extra or [])
        more = f"{key}.more"
        if more in self.voice.catalog:
            return Reply(lines, ask=Line("offer_more"), more=more)
        return Reply(lines, ask=Line("anything_else"))
