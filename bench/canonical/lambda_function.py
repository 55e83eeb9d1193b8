"""The canonical ask-sdk hello skill: the cold-start baseline for the Lambda entry.

As the ASK SDK's hello-world samples write it: a SkillBuilder, a handler for the launch and one for
everything else, and `SkillBuilder().lambda_handler()` as the entry. It imports nothing but ask-sdk
(bench/hello.py, the in-process and HTTP baseline, also imports json, the serializer and the bench
package), so its import and first answer are the floor any ask-sdk skill on Lambda pays.
"""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

GREETING = "Hello. Ask me anything."

sb = SkillBuilder()


@sb.request_handler(can_handle_func=is_request_type("LaunchRequest"))
def launch(handler_input: HandlerInput) -> Response:
    """Serve the launch: a constant greeting, the session left open."""
    return handler_input.response_builder.speak(GREETING).ask(GREETING).response


@sb.request_handler(can_handle_func=lambda handler_input: True)
def anything_else(handler_input: HandlerInput) -> Response:
    """Serve every other request with the same sentence, so any envelope gets an answer."""
    return handler_input.response_builder.speak(GREETING).response


lambda_handler = sb.lambda_handler()
