"""Requests that are not a person asking something: player, system, skill, reminder, list and screen events.

Alexa sends these to every custom skill that has the matching interface or subscription, and
some arrive unasked (System.ExceptionEncountered). None of them may carry speech: AudioPlayer and
PlaybackController requests are refused if the response has outputSpeech, a card, a reprompt or
even shouldEndSession, and events have no one listening. So each gets the empty response, and
a log line says what came.
"""
from __future__ import annotations

import logging
from typing import Any

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.exceptions import AttributesManagerException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_request_type
from ask_sdk_model import IntentRequest, Response

log = logging.getLogger(__name__)

# Request types where a person is waiting for the skill to speak; only these may get the spoken
# apology when a handler fails. Anything else gets the empty response, failure or not.
SPOKEN_REQUEST_TYPES = frozenset({"LaunchRequest", "IntentRequest", "Connections.Response", "SessionResumedRequest"})


def empty(handler_input: HandlerInput) -> Response:
    """The response with nothing in it: no speech, reprompt, card, directives or shouldEndSession."""
    return handler_input.response_builder.response


def _short(value: Any, limit: int = 300) -> str | None:
    """A value from the request, as a bounded string for a log line."""
    return None if value is None else str(value)[:limit]


def error_type(request: Any) -> str | None:
    """The `error.type` Alexa put on a request (System.ExceptionEncountered, SessionEndedRequest with
    reason ERROR), bounded for a log line.

    Not its `error.message`: that can quote the response, and so what the skill said about a person's
    health. A capture with BEDTIME_CAPTURE_PERSONAL keeps it, for the developer who needs it.
    """
    kind = getattr(getattr(request, "error", None), "object_type", None)
    return _short(getattr(kind, "value", kind), 100)


class EventHandler(AbstractRequestHandler):
    """A plain ask-sdk handler for a request type; it serves no intent (the builder's registry reads `intents`)."""

    intents: tuple[str, ...] = ()


class SkillDisabledHandler(EventHandler):
    """Serve AlexaSkillEvent.SkillDisabled: forget what is stored about the person who disabled the skill.

    The skill events reference gives the body one field, `userInformationPersistenceStatus`:
    NOT_PERSISTED when Alexa drops the user id with the skill (a re-enabled skill sees a new
    userId, so a kept row could never be read again: it is deleted now); PERSISTED when Alexa
    keeps the same userId across a disable and re-enable (skills with consumable purchases, as
    Jovo's in-skill purchasing guide notes), so the person comes back to what they chose and the
    row is kept. A missing or unknown status is treated as NOT_PERSISTED: deleting is the safe
    mistake. Reminders the skill created are removed by Alexa when the skill is disabled, so no
    reminders API call is made (and the event's token could not make one).
    """

    def __init__(self, skill_id: str | None = None) -> None:
        # Without a configured skill id nothing proves the event is this skill's (ask-sdk checks the id only
        # when one is set), so another skill's SkillDisabled could delete a row: nothing is deleted then.
        self.skill_id = skill_id

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return get_request_type(handler_input) == "AlexaSkillEvent.SkillDisabled"

    def handle(self, handler_input: HandlerInput) -> Response:
        if self.skill_id is None:
            log.warning("skill disabled, but BEDTIME_SKILL_ID is not set: nothing deleted (set it to honour the event)")
            return empty(handler_input)
        status = persistence_status(handler_input)
        if status == "PERSISTED":
            log.info("skill disabled; Alexa keeps the user id, so the profile is kept")
            return empty(handler_input)
        try:
            handler_input.attributes_manager.delete_persistent_attributes()
        except AttributesManagerException:
            # No persistence adapter (offline tools, BEDTIME_PERSISTENCE=none): nothing was stored.
            log.info("skill disabled; no store configured, nothing to forget")
            return empty(handler_input)
        log.info("skill disabled (%s); the profile is deleted", status or "no status")
        return empty(handler_input)


def persistence_status(handler_input: HandlerInput) -> str | None:
    """The disabled event's `body.userInformationPersistenceStatus`, upper-cased, or None.

    ask-sdk-model's SkillDisabledRequest declares no body; its deserialiser keeps unknown keys as
    attributes, so the body is read from there.
    """
    body = getattr(handler_input.request_envelope.request, "body", None)
    status = body.get("userInformationPersistenceStatus") if isinstance(body, dict) else None
    return status.strip().upper() if isinstance(status, str) else None


class ExceptionEncounteredHandler(EventHandler):
    """Serve System.ExceptionEncountered: Alexa could not use our last response. Log why; answer nothing.

    Alexa accepts no response to this request at all, so the empty one is returned.
    """

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return get_request_type(handler_input) == "System.ExceptionEncountered"

    def handle(self, handler_input: HandlerInput) -> Response:
        log.warning("Alexa could not use a response: %s", error_type(handler_input.request_envelope.request))
        return empty(handler_input)


class QuietRequestHandler(EventHandler):
    """Serve every request type no other handler claimed, intents apart: the empty response.

    Registered last. It covers AudioPlayer.*, PlaybackController.*, AlexaSkillEvent.* (but
    SkillDisabled), Reminders.*, AlexaHouseholdListEvent.*, Messaging.MessageReceived, APL, APLT
    and HTML events, Display.ElementSelected, GameEngine.InputHandlerEvent, Alexa.DataStore.*,
    Alexa.Advertisement.*, Alexa.Authorization.Grant, Connections.* the skill did not ask for,
    Dialog.API.Invoked and SessionResumedRequest. Intents stay with the intent catch-all, which
    speaks; launch and session end have handlers of their own.
    """

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return not isinstance(handler_input.request_envelope.request, IntentRequest)

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("%s: nothing to say; answered empty", _short(get_request_type(handler_input), 100))
        return empty(handler_input)


class QuietErrorHandler(AbstractExceptionHandler):
    """Catch a failure while serving a request that takes no speech: log it, answer empty.

    Registered before the spoken apology, which is only for requests a person is waiting on.
    """

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return get_request_type(handler_input) not in SPOKEN_REQUEST_TYPES

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.error("handler failed on %s: %s", _short(get_request_type(handler_input), 100), type(exception).__name__,
                  exc_info=exception)
        return empty(handler_input)
