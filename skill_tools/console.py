"""The developer console: a web page to talk to the skill by text or voice, for local use only.

`create_dev_app` registers this blueprint, and `bedtime-skill serve` uses it only when request
verification is off (local mode); the blueprint refuses to attach to an app whose settings verify signatures, so a misconfigured
deployment fails at start-up rather than exposing an unauthenticated way into the skill.

The server keeps no conversation in memory: `bedtime-skill serve` runs several worker processes
and nothing sends a tab's next turn to the same one. As Alexa carries session attributes in each
request, the console hands the page a signed token holding the whole conversation (the simulated
person and speaker, the open skill session, the slot the skill asked for); the page sends it back
with the next turn, and whichever worker answers rebuilds a ``Simulator`` from it. Every worker
signs and checks with one secret, made once by the parent process.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from itsdangerous import BadSignature, URLSafeTimedSerializer

from skill.builder import build_skill
from skill.knowledge.markets import BASE_LOCALE, MARKETS
from skill.profile.factory import make_persistence_adapter
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill_tools.paths import default_model_dir
from skill_tools.simulator import RequestFactory, Resolver, Simulator, Turn
from skill_tools.simulator.dialog import SlotSamples, load_slot_samples
from skill_tools.simulator.envelopes import DEFAULT_SKILL_ID, SessionState

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 500
# A token carries the skill's session attributes; this skill's stay well under 1 KB, so a token
# this long was not made here. It also bounds the work of checking one.
MAX_TOKEN_CHARS = 16 * 1024
# A tab left alone this long starts a new skill session (the same simulated person) on its next turn.
TOKEN_MAX_AGE_SECONDS = 60 * 60
MODEL_FILE = Path("interactionModels") / "custom" / "en-US.json"
STATIC_URL = "/console/static"
WORKER_HEADER = "X-Console-Worker"  # which process answered: makes the multi-worker behaviour visible

# The page and its assets come from this package only; the policy makes the browser refuse
# anything else (a CDN script, a web font), so "nothing fetched from outside" is enforced.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

Clock = Callable[[], float]


class ConsoleInputError(ValueError):
    """A console request the server cannot use; ``reason`` is safe to show."""

    def __init__(self, reason: str, *, forget_session: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # True when the page should drop the token it sent (it will never be accepted).
        self.forget_session = forget_session


@dataclass(frozen=True)
class Conversation:
    """What a console tab's conversation is between turns: one simulated person on one speaker,
    their open skill session (None when closed) and the slot the skill last asked for."""

    user_id: str
    device_id: str
    session: SessionState | None
    eliciting: tuple[str, str] | None
    locale: str = BASE_LOCALE  # the market this person's speaker is set to

    def to_json(self) -> dict[str, Any]:
        """The token's payload (version 2: version 1 and the locale)."""
        session = self.session
        return {
            "v": 2,
            "locale": self.locale,
            "user": self.user_id,
            "device": self.device_id,
            "session": None if session is None else {
                "id": session.session_id, "new": session.new, "attributes": session.attributes,
            },
            "eliciting": list(self.eliciting) if self.eliciting else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Conversation | None:
        """The conversation in a payload, or None when it is not one this version wrote.

        A version-1 payload (written before the console had a locale) is an en-US conversation.
        """
        if not isinstance(data, dict) or data.get("v") not in (1, 2):
            return None
        locale = data.get("locale", BASE_LOCALE) if data["v"] == 2 else BASE_LOCALE
        if locale not in MARKETS:
            return None
        user, device, session, eliciting = (data.get(k) for k in ("user", "device", "session", "eliciting"))
        if not (isinstance(user, str) and user and isinstance(device, str) and device):
            return None
        state: SessionState | None = None
        if session is not None:
            if not (
                isinstance(session, dict) and isinstance(session.get("id"), str)
                and isinstance(session.get("new"), bool) and isinstance(session.get("attributes"), dict)
            ):
                return None
            state = SessionState(session["id"], session["new"], dict(session["attributes"]))
        asked: tuple[str, str] | None = None
        if eliciting is not None:
            if not (isinstance(eliciting, list) and len(eliciting) == 2 and all(isinstance(x, str) for x in eliciting)):
                return None
            asked = (eliciting[0], eliciting[1])
        return cls(user, device, state, asked, locale)


class ConversationTokens:
    """Sign a Conversation into an opaque token for the page, and read one back.

    Signed (HMAC, itsdangerous) rather than encrypted: the page may read what it carries (the
    same JSON it shows), but only a holder of the secret can make one the server accepts.
    """

    SALT = "bedtime-console-conversation"

    def __init__(self, secret: bytes, *, max_age: int = TOKEN_MAX_AGE_SECONDS, clock: Clock = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the console's signing secret must be at least 16 bytes")
        self._serializer = URLSafeTimedSerializer(secret, salt=self.SALT)
        self.max_age = max_age
        self.clock = clock

    def dump(self, conversation: Conversation) -> str:
        """The token for ``conversation``."""
        return self._serializer.dumps(conversation.to_json())

    def load(self, token: str) -> Conversation | None:
        """The conversation in ``token``, with its skill session closed if the token is too old;
        None when the token is genuine but not in a shape this version knows (start afresh).

        Raises ConsoleInputError for a token this server's secret did not sign: altered, made up,
        or signed by an earlier run of the server (each run has its own secret).
        """
        try:
            data, signed_at = self._serializer.loads(token, return_timestamp=True)
        except BadSignature:
            raise ConsoleInputError(
                "the session token is not valid here (altered, or from an earlier run of the server); "
                "start a new session",
                forget_session=True,
            ) from None
        conversation = Conversation.from_json(data)
        if conversation is not None and self.clock() - signed_at.timestamp() > self.max_age:
            # Genuine but old: the same person comes back to a speaker whose session timed out.
            return Conversation(conversation.user_id, conversation.device_id, None, None, conversation.locale)
        return conversation


def model_file(model_dir: Path, locale: str = "en-US") -> Path:
    """A locale's model inside an ASK skill package folder (or the file itself, if given one)."""
    model_dir = Path(model_dir)
    return model_dir if model_dir.is_file() else model_dir / MODEL_FILE.with_name(f"{locale}.json")


@lru_cache(maxsize=8)  # five locales' models, with room for a test's own
def _compiled(path: Path, mtime_ns: int, size: int) -> Resolver:
    return Resolver.from_model(path)


def load_resolver(path: Path) -> Resolver:
    """The compiled model, shared by every app built in this process (and in the server workers
    forked from it, which is why `bedtime-skill serve` calls this first) until the file changes.

    Compiling takes a noticeable fraction of a second and tests build many apps in local mode;
    a Resolver only reads its tables after construction, so sharing one is safe.
    """
    try:
        stat = path.stat()
    except OSError:
        return Resolver.from_model(path)  # raises ModelError with a clear reason
    return _compiled(path.resolve(), stat.st_mtime_ns, stat.st_size)


def turn_json(token: str, turn: Turn | None) -> dict[str, Any]:
    """What the page shows for one turn, with the token for its next; ``turn`` is None when /end found no session open."""
    if turn is None:
        return {
            "session": token, "requestType": None, "intent": None, "slots": {}, "confidence": None,
            "speech": "", "ssml": None, "reprompt": None, "ended": True, "request": None, "response": None,
        }
    res = turn.resolution
    body = turn.response.get("response")
    output = body.get("outputSpeech") if isinstance(body, dict) else None
    ssml = output.get("ssml") if isinstance(output, dict) else None
    return {
        "session": token,
        "requestType": turn.request_type,
        "intent": res.intent if res else None,
        "slots": {m.name: {"value": m.value, "id": m.resolved_id} for m in res.slots.values()} if res else {},
        "confidence": res.confidence if res else None,
        "speech": turn.speech,
        "ssml": ssml if isinstance(ssml, str) else None,
        "reprompt": turn.reprompt,
        "ended": turn.ended,
        "request": turn.request,
        "response": turn.response,
    }


def _read_locale() -> str | None:
    """The locale a JSON body asks a new conversation to use (None: the console's default), checked."""
    data = request.get_json(silent=True)
    locale = data.get("locale") if isinstance(data, dict) else None
    if locale is not None and locale not in MARKETS:
        raise ConsoleInputError(f"locale must be one of {', '.join(MARKETS)}")
    return locale


def _read_body(*, need_text: bool) -> tuple[str | None, str]:
    """The session token and (if needed) the text from a JSON body, checked."""
    # Only application/json is read: a cross-site page cannot send that without a CORS
    # preflight, which this server never grants, so another site can't drive the console.
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConsoleInputError("body must be a JSON object sent as application/json")
    token = data.get("session")
    if token is not None and (not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS):
        raise ConsoleInputError("session must be a console session token or null")
    if not need_text:
        return token, ""
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConsoleInputError("text is missing or empty")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        raise ConsoleInputError(f"text is longer than {MAX_TEXT_CHARS} characters")
    return token, text


class ConsoleSimulators:
    """Rebuild a tab's Simulator from its conversation for one turn, and read the conversation back after."""

    def __init__(
        self, runner: SkillRunner, model_dir: Path, skill_id: str = DEFAULT_SKILL_ID, locale: str = BASE_LOCALE,
    ) -> None:
        self.runner = runner
        self.model_dir = model_dir
        self.skill_id = skill_id
        self.locale = locale  # the market a new conversation talks from, unless its tab picks another
        self._slot_samples: dict[str, SlotSamples] = {}
        self.model(locale)  # compiled now, so a broken model fails at start-up, not on the first click

    def model(self, locale: str) -> tuple[Resolver, SlotSamples]:
        """A locale's compiled model and slot samples, read on the first conversation in that locale."""
        path = model_file(self.model_dir, locale)
        resolver = load_resolver(path)
        if locale not in self._slot_samples:
            self._slot_samples[locale] = load_slot_samples(path)
        return resolver, self._slot_samples[locale]

    def simulator(self, conversation: Conversation | None, locale: str | None = None) -> Simulator:
        """A Simulator where ``conversation`` left off (in its locale); None: a new person on a new
        speaker, in ``locale`` or the console's default."""
        locale = conversation.locale if conversation else (locale or self.locale)
        resolver, slot_samples = self.model(locale)
        factory = RequestFactory(
            skill_id=self.skill_id, user_id=conversation.user_id if conversation else None, locale=locale
        )
        sim = Simulator(self.runner.invoke, resolver, factory, slot_samples)
        if conversation is not None:
            factory.device_id = conversation.device_id
            sim.session = conversation.session
            sim.eliciting = conversation.eliciting
        return sim

    @staticmethod
    def conversation(sim: Simulator) -> Conversation:
        """Where ``sim`` stands now, to carry to the next turn."""
        return Conversation(sim.factory.user_id, sim.factory.device_id, sim.session, sim.eliciting, sim.factory.locale)


def console_blueprint(
    runner: SkillRunner,
    model_dir: Path,
    *,
    secret: bytes | None = None,
    skill_id: str | None = None,
    token_max_age: int = TOKEN_MAX_AGE_SECONDS,
    clock: Clock = time.time,
    locale: str = "en-US",
) -> Blueprint:
    """Serve the console page at / and its JSON API under /console (say, launch, end).

    ``secret`` signs the conversation tokens; every process serving the same console must get
    the same one (None: a fresh one, for a single process). The simulated requests carry
    ``skill_id``; None takes the skill id of the app the blueprint is registered on (the skill
    refuses requests for any other), or the simulator's default.
    """
    simulators = ConsoleSimulators(runner, model_dir, skill_id or DEFAULT_SKILL_ID, locale)
    tokens = ConversationTokens(secrets.token_bytes(32) if secret is None else secret, max_age=token_max_age, clock=clock)
    bp = Blueprint("console", __name__, static_folder="static", static_url_path=STATIC_URL)

    @bp.record_once
    def _attach(state: BlueprintSetupState) -> None:
        settings = state.app.extensions.get("bedtime", {}).get("settings")
        if settings is not None and getattr(settings, "verify_signature", False):
            raise RuntimeError("the developer console must never be served with request verification on")
        if skill_id is None and getattr(settings, "skill_id", None):
            simulators.skill_id = settings.skill_id

    def exchange(action: str) -> Any:
        try:
            token, text = _read_body(need_text=action == "say")
            asked_locale = _read_locale()
            conversation = tokens.load(token) if token is not None else None
        except ConsoleInputError as exc:
            body: dict[str, Any] = {"error": exc.reason}
            if exc.forget_session:
                body["session"] = None  # tells the page to drop the token it holds
            return jsonify(body), 400
        sim = simulators.simulator(conversation, asked_locale)
        try:
            if action == "say":
                turn: Turn | None = sim.say(text)
            elif action == "launch":
                turn = sim.launch()
            else:
                turn = sim.end()
        except Exception as exc:  # a failing skill is reported to the page, never as a trace
            log.error("console: the skill failed on %s: %s", action, type(exc).__name__, exc_info=exc)
            # The token of where the conversation stands (a failed exchange leaves it unchanged).
            failed = {"error": f"the skill failed ({type(exc).__name__})",
                      "session": tokens.dump(simulators.conversation(sim))}
            return jsonify(failed), 500
        return jsonify(turn_json(tokens.dump(simulators.conversation(sim)), turn))

    @bp.get("/")
    def page() -> Response:
        """Serve the console page (read per request, so an edited page shows on reload)."""
        html = resources.files("skill_tools").joinpath("static", "console.html").read_bytes()
        return Response(html, mimetype="text/html")

    @bp.get("/console/locales")
    def locales() -> Any:
        """Serve the page's market picker: every locale the skill answers in, and the default."""
        return jsonify({"locales": list(MARKETS), "default": simulators.locale})

    @bp.post("/console/say")
    def say() -> Any:
        """Serve a typed or dictated utterance: resolve it, send it, return the turn."""
        return exchange("say")

    @bp.post("/console/launch")
    def launch() -> Any:
        """Serve "open bedtime magnesium": a LaunchRequest in a fresh skill session."""
        return exchange("launch")

    @bp.post("/console/end")
    def end() -> Any:
        """Serve "New session": close the open skill session with a SessionEndedRequest."""
        return exchange("end")

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/console/") and not request.path.startswith(STATIC_URL):
            response.headers["Cache-Control"] = "no-store"  # turns are live data, never cached
            response.headers[WORKER_HEADER] = str(os.getpid())
        return response

    return bp


def create_dev_app(settings: Settings, *, console_secret: bytes | None = None, locale: str = "en-US") -> Flask:
    """The web app for local use: the skill at /alexa and the console at /, verification off.

    ``console_secret`` signs the console's conversation tokens: `bedtime-skill serve` makes one
    before starting its workers and gives each the same, so any worker can take any tab's next turn.

    The console's simulated requests name Amazon's apiEndpoint; offline, nothing should call it,
    so its conversations run through a second skill object with the Alexa APIs off, sharing the store.
    """
    if settings.verify_signature:
        raise RuntimeError("the developer console must never be served with request verification on")
    persistence = make_persistence_adapter(settings)
    runner = SkillRunner(build_skill(settings, persistence=persistence))
    offline = SkillRunner(build_skill(settings.model_copy(update={"alexa_api": False}), persistence=persistence))
    app = create_app(settings, runner=runner)
    # The simulated requests carry the configured skill id: the skill refuses any other.
    app.register_blueprint(console_blueprint(
        offline, default_model_dir(), secret=console_secret, skill_id=settings.skill_id or DEFAULT_SKILL_ID,
        locale=locale,
    ))
    return app
