"""The in-process baseline: the smallest ask-sdk-core skill that still answers every request.

One LaunchRequest handler and one IntentRequest handler, each speaking a constant, run through the
same JSON -> DefaultSerializer -> skill.invoke -> DefaultSerializer path the real skill uses. It
imports ask-sdk only, so its cold start is the floor any ask-sdk skill pays.
"""
from __future__ import annotations

import json
from typing import Any

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import RequestEnvelope, Response

GREETING = "Hello. Ask me anything."
ANSWER = "Hello again."


class HelloLaunch(AbstractRequestHandler):
    """Serve the launch: a constant greeting, session left open."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak(GREETING).ask(GREETING).response


class HelloIntent(AbstractRequestHandler):
    """Serve any intent with one constant sentence (so every benchmark envelope gets an answer)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak(ANSWER).set_should_end_session(False).response


def build_hello() -> CustomSkill:
    """Build the hello skill with SkillBuilder, as the ASK SDK samples do."""
    builder = SkillBuilder()
    builder.add_request_handler(HelloLaunch())
    builder.add_request_handler(HelloIntent())
    return builder.create()


class HelloRunner:
    """JSON data in, JSON data out, through the SDK's own serializer (the skill's SkillRunner path)."""

    def __init__(self, skill: CustomSkill | None = None) -> None:
        self.skill = skill or build_hello()
        self.serializer = DefaultSerializer()

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        envelope = self.serializer.deserialize(json.dumps(payload), RequestEnvelope)
        response = self.skill.invoke(request_envelope=envelope, context=None)
        return self.serializer.serialize(response)  # type: ignore[no-any-return]


_runner: HelloRunner | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The hello skill as a Lambda entry, built on first use, for the cold-start comparison."""
    global _runner
    if _runner is None:
        _runner = HelloRunner()
    return _runner.invoke(event)
