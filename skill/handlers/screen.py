"""The screening question, asked once a session before the first dose figure, and its answers.

On a device only the interaction model hears a person, so a health statement can be missed. No figure
may depend on having heard one: the session's first figure waits behind one yes/no question naming
the S4/S7 groups (`Voice` asks it, whichever handler produced the figure). Only a clear "no" releases
the figure. "Yes" or a health mention gets the gate's answer and gates the rest of the session;
anything unclear or unplaced gets the gate's answer too, and the next dose question asks again. The
answer lives in the session only; nothing about health is stored.
"""
from __future__ import annotations

from dataclasses import replace

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.handlers.base import EVERY_INTENT, Handler, health, hear_symptom, request_key
from skill.knowledge import Condition, is_warning_sign, safety_gate
from skill.services import Services
from skill.speech import SCREEN_ASK, Line, Reply, Voice, set_state, state_of
from skill.state import Waiting


class ScreenClearHandler(Handler):
    """Serve a clear "no" to the screening question: the answer it held back."""

    claims = (("AMAZON.NoIntent", Waiting.SCREEN),)
    keys = ("screen.clear",)

    def handle(self, handler_input: HandlerInput) -> Response:
        state = replace(state_of(handler_input), screened=True)
        set_state(handler_input, state)
        held = self.voice.unhold(state.held, state)
        if held is None:  # nothing readable was held (a session the client changed): ask afresh
            return self.voice.respond(handler_input, Reply([], ask=Line("screen.clear")))
        return self.voice.respond(handler_input, held)


class ScreenGateHandler(Handler):
    """Serve anything but a clear "no" to the screening question: the doctor or pharmacist, never a figure."""

    claims = ((EVERY_INTENT, Waiting.SCREEN),)
    keys = (SCREEN_ASK, "screen.yes", "screen.unsure", "disclaimer")

    def handle(self, handler_input: HandlerInput) -> Response:
        said, symptom = hear_symptom(handler_input)
        if said and is_warning_sign(symptom):
            return self.symptom_answer(handler_input, symptom)  # stop and get advice comes before any dose talk
        heard = health(handler_input)  # a mention said now ("I'm on warfarin") is kept for the session by the listener
        state = state_of(handler_input)
        if heard:
            lines = [Line(f"gate.{gate.value}") for gate in safety_gate(heard)]
        elif request_key(handler_input) == "AMAZON.YesIntent":
            # One of the groups applies: every later dose question this session meets the gate too.
            lines = [Line("screen.yes")]
            set_state(handler_input, state.with_condition(Condition.OTHER))
        else:
            # Unclear, or something else said: no figure now, and the screen is still to be answered, so the
            # next dose question asks it again.
            lines = [Line("screen.unsure")]
        held = self.voice.unhold(state.held, state)
        reply = Reply(lines + [Line("disclaimer")], done=True)
        if held is not None and held.waiting is Waiting.DOSE_STEP:
            reply = self.voice.gated(held, lines)  # the wind-down goes on to its breathing, without a dose
        return self.voice.respond(handler_input, reply)


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: the screening question before a session's first dose figure. A new handler here is registered by its line."""
    return [
        ScreenClearHandler(voice),
        ScreenGateHandler(voice),
    ]
