"""A simulated conversation with any skill: typed text in, Alexa-shaped requests out, speech back.

``Simulator`` keeps the session as Alexa does (new flag, session id, attributes carried from each
response to the next request, closed by shouldEndSession). ``chat_loop`` puts a small REPL on top.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from skill_tools.simulator.dialog import SlotSamples, elicited_directive, resolve_elicited
from skill_tools.simulator.envelopes import RequestFactory, SessionState
from skill_tools.simulator.nlu import Resolution, Resolver

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class SimulatorError(RuntimeError):
    """The skill answered with something that is not a response envelope."""


@dataclass
class Turn:
    """One exchange: what was said (None for launch/end), how it resolved, the JSON both ways, and what Alexa says."""

    utterance: str | None
    resolution: Resolution | None
    request: dict[str, Any]
    response: dict[str, Any]
    speech: str
    reprompt: str | None
    ended: bool

    @property
    def request_type(self) -> str:
        """LaunchRequest, IntentRequest or SessionEndedRequest."""
        return str(self.request.get("request", {}).get("type", ""))


_SUB = re.compile(r"""<sub\b[^>]*?\balias\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>.*?</sub\s*>""", re.S | re.I)
_PAUSE = re.compile(r"<break\b[^>]*>|</?(?:p|s|speak)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")


def ssml_to_text(ssml: str) -> str:
    """What a listener hears, as plain text: tags gone, <sub> read as its alias, entities unescaped."""
    text = _SUB.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), ssml)
    text = _PAUSE.sub(" ", text)  # a pause or a paragraph still separates words
    text = _TAG.sub("", text)
    # Unescape last, so an escaped "&lt;" in the speech is shown, not taken for a tag.
    text = html.unescape(text)
    return " ".join(text.split())


def _speech_of(block: Any) -> str | None:
    if not isinstance(block, dict):
        return None
    if block.get("type") == "SSML" or "ssml" in block:
        return ssml_to_text(str(block.get("ssml", "")))
    if "text" in block:
        return " ".join(str(block["text"]).split())
    return None


class Simulator:
    """Drive one skill through typed turns, as a person talking to one speaker would."""

    def __init__(
        self, invoke: Invoke, resolver: Resolver, factory: RequestFactory, slot_samples: SlotSamples | None = None
    ) -> None:
        self.invoke = invoke
        self.resolver = resolver
        self.factory = factory
        self.slot_samples = slot_samples or {}
        self.session: SessionState | None = None
        self.history: list[Turn] = []
        self.eliciting: tuple[str, str] | None = None  # (intent, slot) the skill just asked for

    @property
    def in_session(self) -> bool:
        """Whether a session is open (the speaker is listening for a follow-up)."""
        return self.session is not None

    def launch(self) -> Turn:
        """Open the skill with no request, closing any session still open first."""
        if self.session is not None:
            self.end()
        self.session = self.factory.new_session()
        return self._exchange(None, None, self.factory.launch(self.session))

    def say(self, utterance: str) -> Turn:
        """Send what a person says; opens a session if none is open.

        "open <invocation name>" launches; "ask <invocation name> <request>" starts a fresh
        session with that request, as a one-shot does on a device.
        """
        named, rest = self.resolver.split_invocation(utterance)
        if named:
            if not rest:
                turn = self.launch()
                turn.utterance = utterance
                return turn
            if self.session is not None:
                self.end()
            utterance_text = rest
        else:
            utterance_text = utterance
        resolution = None
        if self.eliciting is not None and self.session is not None:
            resolution = resolve_elicited(utterance_text, *self.eliciting, self.slot_samples, self.resolver.custom_value)
        resolution = resolution or self.resolver.resolve(utterance_text)
        if self.session is None:
            self.session = self.factory.new_session()
        return self._exchange(utterance, resolution, self.factory.intent(resolution, self.session))

    def send(self, resolution: Resolution, utterance: str | None = None) -> Turn:
        """Send an already-understood request (an intent and its slots), as a test of what the skill does with it."""
        if self.session is None:
            self.session = self.factory.new_session()
        return self._exchange(utterance, resolution, self.factory.intent(resolution, self.session))

    def end(self, reason: str = "USER_INITIATED") -> Turn | None:
        """Close the open session with a SessionEndedRequest; None if no session is open."""
        if self.session is None:
            return None
        return self._exchange(None, None, self.factory.session_ended(self.session, reason))

    def _exchange(self, utterance: str | None, resolution: Resolution | None, request: dict[str, Any]) -> Turn:
        response = self.invoke(request)
        if not isinstance(response, dict):
            raise SimulatorError(f"the skill returned {type(response).__name__}, not a response envelope (a dict)")
        raw_body = response.get("response")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        ending_request = request["request"]["type"] == "SessionEndedRequest"
        # A voice-only speaker closes the session unless the skill says shouldEndSession: false.
        ended = ending_request or body.get("shouldEndSession") is not False
        speech = _speech_of(body.get("outputSpeech")) or ""
        reprompt_block = body.get("reprompt")
        reprompt = _speech_of(reprompt_block.get("outputSpeech")) if isinstance(reprompt_block, dict) else None
        if ended:
            self.session = None
        elif self.session is not None:
            self.session.new = False
            attributes = response.get("sessionAttributes")
            self.session.attributes = dict(attributes) if isinstance(attributes, dict) else {}
        self.eliciting = None if ended else elicited_directive(response)
        turn = Turn(utterance, resolution, request, response, speech, reprompt, ended)
        self.history.append(turn)
        return turn


# --- the REPL --------------------------------------------------------------------------------

CHAT_HELP = """\
Type what you would say to the speaker. Commands:
  :launch   open the skill (same as "open <invocation name>")
  :end      close the session (sends SessionEndedRequest)
  :json     show or hide the request and response JSON
  :history  list the turns so far
  :help     this text
  :quit     leave (Ctrl-D works too)"""


def describe(turn: Turn) -> str:
    """One line naming what the skill was sent: intent, slots and confidence, or the request type."""
    if turn.resolution is None:
        request = turn.request.get("request", {})
        reason = f" {request['reason']}" if "reason" in request else ""
        return f"[{turn.request_type}{reason}]"
    res = turn.resolution
    slots = []
    for match in res.slots.values():
        if match.resolved_id is not None:
            slots.append(f"{match.name}: {match.value} [{match.resolved_id}]")
        elif match.slot_type.startswith("AMAZON.") or not match.slot_type:
            slots.append(f"{match.name}: {match.value}")
        else:
            slots.append(f"{match.name}: {match.value} [no match]")
    return f"[{res.intent} {res.confidence:.2f}]" + (" " + ", ".join(slots) if slots else "")


def chat_loop(sim: Simulator, stdin: TextIO, stdout: TextIO, *, show_json: bool = False) -> int:
    """Talk to the skill line by line until :quit or end of input; returns the exit code (0)."""
    interactive = getattr(stdin, "isatty", lambda: False)()

    def say(line: str = "") -> None:
        stdout.write(line + "\n")

    def show(turn: Turn | None) -> None:
        if turn is None:
            say("(no session is open)")
            return
        if show_json:
            say("> request\n" + json.dumps(turn.request, indent=2))
            say("< response\n" + json.dumps(turn.response, indent=2))
        say(describe(turn))
        if turn.request_type != "SessionEndedRequest":
            say(f"A: {turn.speech}" if turn.speech else "A: (silence)")
        if turn.ended:
            say("(session closed)")

    def attempt(action: Callable[[], Turn | None]) -> None:
        try:
            show(action())
        except Exception as exc:  # the REPL reports a failing skill and keeps going
            say(f"error: the skill failed: {type(exc).__name__}: {exc}")

    say(f"Talking to '{sim.resolver.invocation_name or 'the skill'}'. :help for commands, Ctrl-D to leave.")
    while True:
        if interactive:
            stdout.write("U: ")
            stdout.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            say()
            break
        if not line:
            break  # end of input
        line = line.strip()
        if not line:
            continue
        if not line.startswith(":"):
            attempt(lambda: sim.say(line))
            continue
        command = line[1:].strip().lower()
        if command in ("quit", "q", "exit"):
            break
        elif command == "launch":
            attempt(sim.launch)
        elif command == "end":
            attempt(sim.end)
        elif command == "json":
            show_json = not show_json
            say(f"(JSON {'on' if show_json else 'off'})")
        elif command == "history":
            if not sim.history:
                say("(no turns yet)")
            for number, turn in enumerate(sim.history, 1):
                said = turn.utterance if turn.utterance is not None else f"({turn.request_type})"
                say(f"{number}. U: {said}  {describe(turn)}")
                if turn.request_type != "SessionEndedRequest":
                    say(f"   A: {turn.speech}")
        elif command == "help":
            say(CHAT_HELP)
        else:
            say(f"unknown command :{command}; try :help")
    if sim.in_session:
        # Leaving closes the session as walking away from the speaker would; quietly.
        try:
            sim.end()
        except Exception as exc:
            say(f"error: the skill failed: {type(exc).__name__}: {exc}")
    return 0
