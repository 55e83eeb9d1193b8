"""Simulated conversations: Alexa-shaped envelopes, sessions carried turn to turn, and the chat REPL."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import get_slot, is_intent_name, is_request_type
from ask_sdk_model import IntentRequest, LaunchRequest, RequestEnvelope, Response, SessionEndedRequest
from ask_sdk_model.slu.entityresolution import StatusCode

from skill_tools.simulator.envelopes import DEFAULT_SKILL_ID, RequestFactory
from skill_tools.simulator.nlu import Resolution, Resolver, SlotMatch
from skill_tools.simulator.session import Simulator, SimulatorError, Turn, chat_loop, ssml_to_text

FIXTURE_MODEL = Path(__file__).parent / "fixtures" / "lint" / "valid" / "interactionModels" / "custom" / "en-US.json"
BEDTIME = datetime(2024, 5, 1, 21, 30, tzinfo=timezone.utc)
SERIALIZER = DefaultSerializer()


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.from_model(FIXTURE_MODEL)


@pytest.fixture
def factory() -> RequestFactory:
    return RequestFactory(clock=lambda: BEDTIME)


def as_sdk(envelope: dict[str, Any]) -> RequestEnvelope:
    """Read an envelope the way the skill's SDK does."""
    return SERIALIZER.deserialize(json.dumps(envelope), "ask_sdk_model.RequestEnvelope")


# --- envelopes -------------------------------------------------------------------------------


def test_a_launch_envelope_has_alexas_shape_and_reads_in_the_sdk(factory: RequestFactory) -> None:
    session = factory.new_session()
    env = factory.launch(session)
    assert env["version"] == "1.0"
    assert set(env) == {"version", "session", "context", "request"}
    assert env["session"]["new"] is True and env["session"]["attributes"] == {}
    assert env["session"]["application"] == {"applicationId": DEFAULT_SKILL_ID}
    system = env["context"]["System"]
    assert system["user"] == env["session"]["user"] and system["application"] == env["session"]["application"]
    assert system["apiEndpoint"] == "https://api.amazonalexa.com" and system["apiAccessToken"]
    assert system["device"]["deviceId"].startswith("amzn1.ask.device.") and system["device"]["supportedInterfaces"] == {}
    request = env["request"]
    assert re.fullmatch(r"amzn1\.echo-api\.request\.[0-9a-f-]{36}", request["requestId"])
    assert (request["type"], request["timestamp"], request["locale"]) == ("LaunchRequest", "2024-05-01T21:30:00Z", "en-US")

    sdk = as_sdk(env)
    assert isinstance(sdk.request, LaunchRequest)
    assert sdk.request.timestamp == BEDTIME
    assert sdk.session.session_id == session.session_id and sdk.context.system.user.user_id == factory.user_id


def test_the_timestamp_is_utc_whatever_the_clock_zone() -> None:
    evening_in_berlin = datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    env = RequestFactory(clock=lambda: evening_in_berlin).launch(RequestFactory().new_session())
    assert env["request"]["timestamp"] == "2024-05-01T21:30:00Z"


def test_an_intent_envelope_lists_every_declared_slot_with_resolutions(factory: RequestFactory, resolver: Resolver) -> None:
    resolution = resolver.resolve("is three hundred mg of bisglycinate too much")
    env = factory.intent(resolution, factory.new_session())
    intent = env["request"]["intent"]
    assert (intent["name"], intent["confirmationStatus"]) == ("DoseIntent", "NONE")
    assert set(intent["slots"]) == {"amount", "unit", "form"}
    assert intent["slots"]["amount"]["value"] == "300"
    assert "resolutions" not in intent["slots"]["amount"]  # built-in types carry no entity resolution
    form = intent["slots"]["form"]
    assert form["value"] == "bisglycinate"
    assert form["resolutions"] == {"resolutionsPerAuthority": [{
        "authority": f"amzn1.er-authority.echo-sdk.{DEFAULT_SKILL_ID}.FormType",
        "status": {"code": "ER_SUCCESS_MATCH"},
        "values": [{"value": {"name": "glycinate", "id": "glycinate"}}],
    }]}

    sdk = as_sdk(env)
    assert isinstance(sdk.request, IntentRequest)
    slot = sdk.request.intent.slots["form"]
    authority = slot.resolutions.resolutions_per_authority[0]
    assert authority.status.code == StatusCode.ER_SUCCESS_MATCH and authority.values[0].value.id == "glycinate"
    assert sdk.request.intent.slots["amount"].value == "300"


def test_an_unfilled_slot_is_listed_with_no_value(factory: RequestFactory, resolver: Resolver) -> None:
    env = factory.intent(resolver.resolve("how much should i take"), factory.new_session())
    assert env["request"]["intent"]["slots"]["form"] == {"name": "form", "confirmationStatus": "NONE"}
    assert as_sdk(env).request.intent.slots["form"].value is None


def test_an_unknown_value_says_er_success_no_match(factory: RequestFactory) -> None:
    resolution = Resolution("FormInfoIntent", {"form": SlotMatch("form", "zinc", "FormType", None, None)}, 0.8,
                            "tell me about {form}", {"form": "FormType"})
    slot = factory.intent(resolution, factory.new_session())["request"]["intent"]["slots"]["form"]
    authority = slot["resolutions"]["resolutionsPerAuthority"][0]
    assert authority["status"] == {"code": "ER_SUCCESS_NO_MATCH"} and "values" not in authority
    assert as_sdk(factory.intent(resolution, factory.new_session())).request.intent.slots["form"].value == "zinc"


def test_a_session_ended_envelope_carries_its_reason(factory: RequestFactory) -> None:
    env = factory.session_ended(factory.new_session(), "EXCEEDED_MAX_REPROMPTS")
    assert env["request"]["type"] == "SessionEndedRequest" and env["request"]["reason"] == "EXCEEDED_MAX_REPROMPTS"
    sdk = as_sdk(env)
    assert isinstance(sdk.request, SessionEndedRequest) and sdk.request.reason.value == "EXCEEDED_MAX_REPROMPTS"
    with pytest.raises(ValueError, match="reason must be one of"):
        factory.session_ended(factory.new_session(), "BORED")


def test_one_factory_is_one_person_and_every_request_is_new(factory: RequestFactory) -> None:
    first, second = factory.launch(factory.new_session()), factory.launch(factory.new_session())
    assert first["session"]["user"]["userId"] == second["session"]["user"]["userId"] == factory.user_id
    assert factory.user_id.startswith("amzn1.ask.account.SIM")
    assert first["request"]["requestId"] != second["request"]["requestId"]
    assert first["session"]["sessionId"] != second["session"]["sessionId"]
    assert RequestFactory().user_id != factory.user_id
    assert RequestFactory(user_id="amzn1.ask.account.ME").launch(factory.new_session())["session"]["user"]["userId"] == "amzn1.ask.account.ME"


# --- ssml to text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ssml", "heard"),
    [
        ("<speak>Hello there.</speak>", "Hello there."),
        ('<speak>Breathe in.<break time="2s"/>And out.</speak>', "Breathe in. And out."),
        ("<speak><p>One.</p><p>Two.</p></speak>", "One. Two."),
        ('<speak><prosody rate="slow" volume="soft">Slowly</prosody> now</speak>', "Slowly now"),
        ('<speak>Take <sub alias="milligrams">mg</sub> with food</speak>', "Take milligrams with food"),
        ("<speak>Fish &amp; chips &lt;b&gt;</speak>", "Fish & chips <b>"),
        ("plain words", "plain words"),
    ],
)
def test_ssml_reads_as_what_a_listener_hears(ssml: str, heard: str) -> None:
    assert ssml_to_text(ssml) == heard


# --- the simulator with a tiny skill ---------------------------------------------------------


class EchoSkill:
    """Says which intent it got, counts turns in a session attribute, ends on Stop."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, envelope: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(envelope)
        request = envelope["request"]
        name = request.get("intent", {}).get("name", request["type"])
        turns = envelope["session"]["attributes"].get("turns", 0) + 1
        ends = name in ("AMAZON.StopIntent", "SessionEndedRequest")
        body: dict[str, Any] = {
            "outputSpeech": {"type": "SSML", "ssml": f"<speak>You said {name}.</speak>"},
            "shouldEndSession": ends,
        }
        if not ends:
            body["reprompt"] = {"outputSpeech": {"type": "PlainText", "text": "Anything else?"}}
        return {"version": "1.0", "sessionAttributes": {"turns": turns}, "response": body}


@pytest.fixture
def echo() -> EchoSkill:
    return EchoSkill()


@pytest.fixture
def sim(echo: EchoSkill, resolver: Resolver, factory: RequestFactory) -> Simulator:
    return Simulator(echo, resolver, factory)


def test_attributes_come_back_and_the_session_carries_on(sim: Simulator, echo: EchoSkill) -> None:
    opened = sim.launch()
    assert (opened.speech, opened.reprompt, opened.ended) == ("You said LaunchRequest.", "Anything else?", False)
    asked = sim.say("how much should i take")
    assert asked.speech == "You said DoseIntent." and asked.resolution is not None
    again = sim.say("is 300 mg too much")

    sessions = [r["session"] for r in echo.requests]
    assert [s["new"] for s in sessions] == [True, False, False]
    assert [s["attributes"] for s in sessions] == [{}, {"turns": 1}, {"turns": 2}]
    assert len({s["sessionId"] for s in sessions}) == 1
    assert sim.history == [opened, asked, again] and sim.in_session


def test_should_end_session_closes_and_the_next_words_open_a_new_session(sim: Simulator, echo: EchoSkill) -> None:
    sim.say("how much should i take")
    stopped = sim.say("stop")
    assert stopped.ended and not sim.in_session
    sim.say("what is citrate")
    first, _, fresh = (r["session"] for r in echo.requests)
    assert fresh["new"] is True and fresh["attributes"] == {} and fresh["sessionId"] != first["sessionId"]


def test_a_response_without_should_end_session_closes_on_a_voice_only_speaker(resolver: Resolver, factory: RequestFactory) -> None:
    def speaks_once(envelope: dict[str, Any]) -> dict[str, Any]:
        return {"version": "1.0", "response": {"outputSpeech": {"type": "PlainText", "text": "Good night."}}}

    sim = Simulator(speaks_once, resolver, factory)
    turn = sim.say("why magnesium")
    assert (turn.speech, turn.reprompt, turn.ended, sim.in_session) == ("Good night.", None, True, False)


def test_open_launches_and_a_one_shot_starts_its_own_session(sim: Simulator, echo: EchoSkill) -> None:
    launched = sim.say("Alexa, open bedtime helper")
    assert launched.request_type == "LaunchRequest" and launched.utterance == "Alexa, open bedtime helper"
    one_shot = sim.say("ask bedtime helper how much should I take")
    assert one_shot.resolution is not None and one_shot.resolution.intent == "DoseIntent"
    # The open session was closed first, and the one-shot came in a new one.
    assert [r["request"]["type"] for r in echo.requests] == ["LaunchRequest", "SessionEndedRequest", "IntentRequest"]
    assert echo.requests[2]["session"]["new"] is True


def test_end_sends_session_ended_only_when_a_session_is_open(sim: Simulator, echo: EchoSkill) -> None:
    assert sim.end() is None
    sim.launch()
    ended = sim.end()
    assert ended is not None and ended.ended and ended.request_type == "SessionEndedRequest"
    assert ended.request["request"]["reason"] == "USER_INITIATED"
    assert not sim.in_session and sim.end() is None


def test_a_skill_that_answers_nonsense_is_a_clear_error(resolver: Resolver, factory: RequestFactory) -> None:
    sim = Simulator(lambda envelope: "oops", resolver, factory)  # type: ignore[arg-type,return-value]
    with pytest.raises(SimulatorError, match="returned str, not a response envelope"):
        sim.launch()


# --- the chat loop ---------------------------------------------------------------------------


def chat(sim: Simulator, typed: str, **kwargs: bool) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = chat_loop(sim, io.StringIO(typed), out, **kwargs)
    return code, out.getvalue().splitlines()


def test_a_chat_reads_like_a_conversation(sim: Simulator) -> None:
    code, lines = chat(sim, ":launch\nis 300 mg of magnesium citrate too much\nstop\n")
    assert code == 0
    assert lines[1:] == [
        "[LaunchRequest]",
        "A: You said LaunchRequest.",
        "[DoseIntent 1.00] amount: 300, unit: milligrams [mg], form: magnesium citrate [citrate]",
        "A: You said DoseIntent.",
        "[AMAZON.StopIntent 1.00]",
        "A: You said AMAZON.StopIntent.",
        "(session closed)",
    ]


def test_end_of_input_leaves_cleanly_and_closes_the_open_session(sim: Simulator, echo: EchoSkill) -> None:
    code, lines = chat(sim, "what is zinc")  # no newline, then Ctrl-D
    assert code == 0
    assert re.fullmatch(r"\[FormInfoIntent 0\.\d\d\] form: zinc \[no match\]", lines[1])
    assert echo.requests[-1]["request"]["type"] == "SessionEndedRequest" and not sim.in_session


def test_json_toggles_the_request_and_response(sim: Simulator) -> None:
    _, lines = chat(sim, ":json\nhow much should i take\n:json\nhow much should i take\n")
    text = "\n".join(lines)
    assert lines[1] == "(JSON on)"
    assert text.count("> request") == 1 and text.count("< response") == 1
    assert '"type": "IntentRequest"' in text and '"sessionAttributes"' in text


def test_history_help_and_unknown_commands(sim: Simulator) -> None:
    _, lines = chat(sim, ":history\n:launch\nyes\n:history\n:help\n:dance\n")
    assert "(no turns yet)" in lines
    assert "1. U: (LaunchRequest)  [LaunchRequest]" in lines
    assert "2. U: yes  [AMAZON.YesIntent 1.00]" in lines and "   A: You said AMAZON.YesIntent." in lines
    assert any(line.startswith("  :json") for line in lines)
    assert "unknown command :dance; try :help" in lines


def test_quit_stops_before_the_rest_of_the_input(sim: Simulator, echo: EchoSkill) -> None:
    code, lines = chat(sim, "yes\n:quit\nno\n")
    assert code == 0
    assert not any("NoIntent" in line for line in lines)
    assert [r["request"]["type"] for r in echo.requests] == ["IntentRequest", "SessionEndedRequest"]


def test_end_with_no_session_says_so(sim: Simulator) -> None:
    _, lines = chat(sim, ":end\n")
    assert lines[1:] == ["(no session is open)"]


def test_a_failing_skill_is_reported_and_the_chat_goes_on(resolver: Resolver, factory: RequestFactory) -> None:
    calls: list[str] = []

    def flaky(envelope: dict[str, Any]) -> dict[str, Any]:
        calls.append(envelope["request"]["type"])
        if len(calls) == 1:
            raise ConnectionError("skill is down")
        return {"version": "1.0", "response": {"outputSpeech": {"type": "PlainText", "text": "Back."}, "shouldEndSession": True}}

    code, lines = chat(Simulator(flaky, resolver, factory), "yes\nyes\n")
    assert code == 0
    assert lines[1] == "error: the skill failed: ConnectionError: skill is down"
    assert lines[2:] == ["[AMAZON.YesIntent 1.00]", "A: Back.", "(session closed)"]


# --- end to end through a real ask-sdk-core skill --------------------------------------------


class LaunchHandler(AbstractRequestHandler):
    """Serves the launch: greets and keeps the session open."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        handler_input.attributes_manager.session_attributes["visits"] = 1
        return handler_input.response_builder.speak("Welcome.").ask("What would you like?").response


class DoseHandler(AbstractRequestHandler):
    """Serves DoseIntent: repeats the amount and the resolved form id, counting questions."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("DoseIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        attributes = handler_input.attributes_manager.session_attributes
        attributes["questions"] = attributes.get("questions", 0) + 1
        amount = get_slot(handler_input, "amount")
        form = get_slot(handler_input, "form")
        form_id = form.resolutions.resolutions_per_authority[0].values[0].value.id if form and form.resolutions else "none"
        speech = f"<speak>{amount.value if amount else 'no'} &amp; {form_id}, question {attributes['questions']}</speak>"
        return handler_input.response_builder.speak(speech).ask("Anything else?").response


class SessionEndedHandler(AbstractRequestHandler):
    """Serves the end of a session: nothing to say."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


def test_a_real_ask_sdk_skill_holds_a_conversation_through_the_simulator(resolver: Resolver, factory: RequestFactory) -> None:
    builder = SkillBuilder()
    for handler in (LaunchHandler(), DoseHandler(), SessionEndedHandler()):
        builder.add_request_handler(handler)
    skill = builder.create()

    def invoke(envelope: dict[str, Any]) -> dict[str, Any]:
        request = SERIALIZER.deserialize(json.dumps(envelope), RequestEnvelope)
        return SERIALIZER.serialize(skill.invoke(request_envelope=request, context=None))  # type: ignore[no-any-return]

    sim = Simulator(invoke, resolver, factory)
    launched = sim.launch()
    first = sim.say("is 300 milligrams of magnesium glycinate too much")
    second = sim.say("is twelve hundred mg of citrate too much")
    ended = sim.end()

    assert (launched.speech, launched.reprompt) == ("Welcome.", "What would you like?")
    assert first.speech == "300 & glycinate, question 1"
    assert second.speech == "1200 & citrate, question 2"
    assert second.request["session"]["attributes"] == {"visits": 1, "questions": 1}
    assert ended is not None and ended.ended and not sim.in_session
    assert all(isinstance(turn, Turn) for turn in sim.history) and len(sim.history) == 4


# --- a custom slot the skill asks for ---------------------------------------------------------


def test_the_answer_to_an_elicited_custom_slot_is_heard_as_that_slot() -> None:
    from skill.builder import build_skill
    from skill.runtime import SkillRunner
    from skill.settings import Settings
    from skill_tools.paths import MODEL_FILE, default_model_dir
    from skill_tools.simulator.dialog import load_slot_samples

    model_file = default_model_dir() / MODEL_FILE
    settings = Settings(_env_file=None, persistence="none", alexa_api=False, seed=1)  # type: ignore[call-arg]
    sim = Simulator(SkillRunner(build_skill(settings)).invoke, Resolver.from_model(model_file), RequestFactory(),
                    load_slot_samples(model_file))
    # U: remember my magnesium   A: ... Which form do you take, like glycinate?  (Dialog.ElicitSlot on form)
    asked = sim.say("remember my magnesium")
    assert asked.response["response"]["directives"][0]["slotToElicit"] == "form"
    # U: it's citrate   -> SetPreferenceIntent with the form resolved, not a fallback
    answered = sim.say("it's citrate")
    slot = answered.request["request"]["intent"]["slots"]["form"]
    assert answered.request["request"]["intent"]["name"] == "SetPreferenceIntent"
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["values"][0]["value"]["id"] == "citrate"
    assert "citrate" in answered.speech
    # U: it's the weather   -> no form: heard afresh, not forced into the slot
    sim.say("remember my magnesium")
    assert sim.say("what's the weather").request["request"]["intent"]["name"] != "SetPreferenceIntent"
