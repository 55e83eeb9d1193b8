"""The conversation's frame: help, yes/no, more, repeat, stop, fallback, session end and errors."""
from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.handlers.base import ANY, Handler, Intent
from skill.handlers.events import error_type
from skill.services import Services
from skill.speech import Line, Reply, Voice, set_state, state_of
from skill.state import State, Waiting

log = logging.getLogger(__name__)


class HelpHandler(Handler):
    """Serve "help": what the skill can answer, ending with a question."""

    claims = (("AMAZON.HelpIntent", ANY),)
    keys = ("help",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("help")))


class GoodbyeHandler(Handler):
    """Serve stop, cancel and go-home: end at once, quietly."""

    claims = tuple((name, ANY) for name in (
        "AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent", "AMAZON.PauseIntent"))
    keys = ("goodbye",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("goodbye")], end=True, card=False))


class NoHandler(Handler):
    """Serve "no" when nothing was asked, or to "want the details?": the person has heard enough."""

    claims = (("AMAZON.NoIntent", ANY),)
    keys = ("no_more",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("no_more")], end=True, card=False))


class YesHandler(Handler):
    """Serve "yes" or "tell me more" when no question is open: there is nothing more to say."""

    claims = (("AMAZON.YesIntent", ANY), ("AMAZON.MoreIntent", ANY))
    keys = ("nothing_more",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("nothing_more")))


class DetailsHandler(Handler):
    """Serve "yes", "tell me more" or "go on" after "Want the details?": speak the details offered."""

    # "keep going" and "go on" reach Alexa's ResumeIntent; after an offer of details they mean "more".
    claims = (("AMAZON.YesIntent", Waiting.MORE), ("AMAZON.MoreIntent", Waiting.MORE), ("AMAZON.ResumeIntent", Waiting.MORE))

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        offered = state.then
        if offered and offered in self.voice.catalog:
            return self.voice.respond(handler_input, Reply([Line(offered)], done=True,
                                                           topic=state.topic, dose=state.dose))
        return self.voice.respond(handler_input, Reply([], ask=Line("nothing_more")))


class RepeatHandler(Handler):
    """Serve "say that again": the last answer, word for word, leaving the same question open."""

    claims = (("AMAZON.RepeatIntent", ANY),)
    keys = ("nothing_to_repeat",)

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        last = self.voice.recall(state.last_said, state)
        if last is None:
            return self.voice.respond(handler_input, Reply([], ask=Line("nothing_to_repeat")))
        return self.voice.respond(handler_input, last)


class StartOverHandler(Handler):
    """Serve "start over": drop this session's thread and ask afresh.

    Health mentions stay: the gate fails closed for the rest of the session, whatever is said.
    """

    claims = (("AMAZON.StartOverIntent", ANY),)
    keys = ("start_over",)

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        set_state(handler_input, State(conditions=state.conditions, profile=state.profile))
        return self.voice.respond(handler_input, Reply([], ask=Line("start_over")))


class FallbackHandler(Handler):
    """Serve what the model could not place (and any intent with no handler): say what the skill can do.

    Fails closed: what was not understood may have been a health statement ("I'm on warfarin" that the
    device could not place), so the answer says to ask a doctor or pharmacist first, as the gate would.
    """

    claims: tuple[tuple[str, Waiting | None], ...] = (("AMAZON.FallbackIntent", ANY),)
    keys = ("fallback", "fallback.unheard")

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("fallback.unheard")], ask=Line("fallback")))


class UnsureHandler(FallbackHandler):
    """Serve "I don't know", "no idea", "maybe": never a "no".

    Its own intent, so an unsure answer to the screening question is not heard as AMAZON.NoIntent (which
    would release a figure): while the screen waits, ScreenGateHandler answers it with the gate. Anywhere
    else it is answered as what the model could not place (the fallback's answer), failing closed the same way.
    """

    intent = Intent("UnsureIntent")
    claims = ()  # (UnsureIntent, any state), from the intent; not the fallback's claim


class SessionEndedHandler(Handler):
    """Serve the session's end: nothing is spoken, the reason is logged."""

    claims = (("SessionEndedRequest", ANY),)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        reason = getattr(request, "reason", None)
        if getattr(reason, "value", reason) == "ERROR":
            # Alexa ended the session because of our response (bad SSML, a bad directive): say why.
            log.warning("session ended by an error: %s", error_type(request))
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


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: the conversation's frame. A new handler here is registered by its line."""
    return [
        HelpHandler(voice),
        GoodbyeHandler(voice),
        NoHandler(voice),
        YesHandler(voice),
        DetailsHandler(voice),
        RepeatHandler(voice),
        StartOverHandler(voice),
        FallbackHandler(voice),
        UnsureHandler(voice),
        SessionEndedHandler(voice),
    ]
