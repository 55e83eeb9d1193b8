"""The wind-down: for now the essentials, honestly said; the full routine is its own issue."""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput

from ask_sdk_model import Response

from skill.handlers.base import Handler, session_conditions
from skill.knowledge import assess_dose
from skill.handlers.dose import dose_reply
from skill.speech import Line, Reply


class WindDownHandler(Handler):
    """Serve "start my wind-down": dose timing and the kidney caveat, then good night."""

    intents = ("WindDownIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        # Timing a dose is dose advice: a condition named earlier in the session gates it.
        advice = assess_dose(None, None, session_conditions(handler_input))
        if advice.gates:
            return self.voice.respond(handler_input, dose_reply(advice))
        return self.voice.respond(handler_input, Reply([Line("winddown.essentials"), Line("disclaimer"), Line("goodbye")], end=True, soft=True))
