"""The conversation's frame: launch, help, yes/no, repeat, stop, errors."""
from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.handlers.base import Handler
from skill.handlers.events import error_details
from skill.speech import LAST_SAID, OFFERED_MORE, Line, Reply, Voice, session_of

log = logging.getLogger(__name__)


class LaunchHandler(Handler):
    """Serve "open bedtime magnesium": a short welcome and a few things to ask."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("launch")))


class HelpHandler(Handler):
    """Serve "help": what the skill can answer, ending with a question."""

    intents = ("AMAZON.HelpIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("help")))


class GoodbyeHandler(Handler):
    """Serve stop, cancel and go-home: end at once, quietly."""

    intents = ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent", "AMAZON.PauseIntent")

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("goodbye")], end=True, card=False))


class NoHandler(Handler):
    """Serve "no": the person has heard enough, so say good night and end."""

    intents = ("AMAZON.NoIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("no_more")], end=True, card=False))


class YesHandler(Handler):
    """Serve "yes" after "Want the details?": speak the details that were offered."""

    intents = ("AMAZON.YesIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        offered = session_of(handler_input).get(OFFERED_MORE)
        if isinstance(offered, str) and offered in self.voice.catalog:
            return self.voice.respond(handler_input, Reply([Line(offered)], ask=Line("anything_else")))
        return self.voice.respond(handler_input, Reply([], ask=Line("nothing_more")))


class RepeatHandler(Handler):
    """Serve "say that again": the last answer, word for word."""

    intents = ("AMAZON.RepeatIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        session = session_of(handler_input)
        # The same words again, and the same open question ("yes" still means what it meant).
        last = self.voice.recall(session.get(LAST_SAID), session)
        if last is None:
            return self.voice.respond(handler_input, Reply([], ask=Line("nothing_to_repeat")))
        return self.voice.respond(handler_input, last)


class StartOverHandler(Handler):
    """Serve "start over": forget this session's thread and ask afresh."""

    intents = ("AMAZON.StartOverIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        session_of(handler_input).clear()
        return self.voice.respond(handler_input, Reply([], ask=Line("start_over")))


class FallbackHandler(Handler):
    """Serve what the model could not place: say what the skill can do."""

    intents = ("AMAZON.FallbackIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("fallback")))


class UnknownIntentHandler(Handler):
    """Catch any intent or request type with no handler of its own, so nothing goes unanswered."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("fallback")))


class SessionEndedHandler(Handler):
    """Serve the session's end: nothing is spoken, the reason is logged."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        reason = getattr(request, "reason", None)
        if getattr(reason, "value", reason) == "ERROR":
            # Alexa ended the session because of our response (bad SSML, a bad directive): say why.
            log.warning("session ended by an error: %s: %s", *error_details(request))
            return handler_input.response_builder.response
        log.info("session ended: %s", reason)
        return handler_input.response_builder.response


class ErrorHandler(AbstractExceptionHandler):
    """Catch anything a handler raised: apologise briefly and log it, never a stack trace to the user."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.error("handler failed: %s", type(exception).__name__, exc_info=exception)
        if is_request_type("SessionEndedRequest")(handler_input):
            return handler_input.response_builder.response
        return self.voice.respond(handler_input, Reply([], ask=Line("error"), card=False))
