"""The offline simulator: understand typed utterances like Alexa, build its requests, hold a session."""
from skill_tools.simulator.envelopes import DEFAULT_SKILL_ID, RequestFactory, SessionState
from skill_tools.simulator.nlu import FALLBACK_INTENT, ModelError, Resolution, Resolver, SlotMatch, normalise
from skill_tools.simulator.session import Invoke, Simulator, SimulatorError, Turn, chat_loop, describe, ssml_to_text

__all__ = [
    "DEFAULT_SKILL_ID",
    "FALLBACK_INTENT",
    "Invoke",
    "ModelError",
    "RequestFactory",
    "Resolution",
    "Resolver",
    "SessionState",
    "Simulator",
    "SimulatorError",
    "SlotMatch",
    "Turn",
    "chat_loop",
    "describe",
    "normalise",
    "ssml_to_text",
]
