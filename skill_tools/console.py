"""The developer console: a web page to talk to the skill by text or voice, for local use only.

`create_dev_app` registers this blueprint, and `bedtime-skill serve` uses it only when request
verification is off (local mode); the blueprint refuses to attach to an app whose settings verify signatures, so a misconfigured
deployment fails at start-up rather than exposing an unauthenticated way into the skill.

Each browser tab holds a console session id; the server keeps one ``Simulator`` per id (one
simulated person on one speaker), at most ``max_sessions`` of them, least recently used
dropped first.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState

from flask import Flask

from skill.builder import build_skill
from skill.profile.factory import make_persistence_adapter
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill_tools.paths import default_model_dir
from skill_tools.simulator import RequestFactory, Resolver, Simulator, Turn

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 500
MAX_SESSIONS = 100
MODEL_FILE = Path("interactionModels") / "custom" / "en-US.json"
STATIC_URL = "/console/static"

# The page and its assets come from this package only; the policy makes the browser refuse
# anything else (a CDN script, a web font), so "nothing fetched from outside" is enforced.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class ConsoleInputError(ValueError):
    """A console request the server cannot use; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Entry:
    """One console session: its simulator, and a lock so overlapping requests for it can't interleave turns."""

    simulator: Simulator
    lock: threading.Lock = field(default_factory=threading.Lock)


class ConsoleSessions:
    """Simulators by console session id: bounded, least recently used evicted, thread-safe."""

    def __init__(self, runner: SkillRunner, resolver: Resolver, *, max_sessions: int = MAX_SESSIONS) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self.runner = runner
        self.resolver = resolver
        self.max_sessions = max_sessions
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._entries

    def get(self, session_id: str | None) -> tuple[str, _Entry]:
        """The entry for ``session_id``; an unknown or missing id gets a fresh entry under a new id.

        A new id rather than the client's own: ids are made here, so a client cannot pick or
        guess its way into another tab's conversation.
        """
        with self._lock:
            if session_id is not None and session_id in self._entries:
                self._entries.move_to_end(session_id)
                return session_id, self._entries[session_id]
            new_id = secrets.token_urlsafe(16)
            entry = _Entry(Simulator(self.runner.invoke, self.resolver, RequestFactory()))
            self._entries[new_id] = entry
            while len(self._entries) > self.max_sessions:
                self._entries.popitem(last=False)
            return new_id, entry


def model_file(model_dir: Path) -> Path:
    """The en-US model inside an ASK skill package folder (or the file itself, if given one)."""
    model_dir = Path(model_dir)
    return model_dir if model_dir.is_file() else model_dir / MODEL_FILE


@lru_cache(maxsize=4)
def _compiled(path: Path, mtime_ns: int, size: int) -> Resolver:
    return Resolver.from_model(path)


def load_resolver(path: Path) -> Resolver:
    """The compiled model, shared by every app built in this process until the file changes.

    Compiling takes a noticeable fraction of a second and tests build many apps in local mode;
    a Resolver only reads its tables after construction, so sharing one is safe.
    """
    try:
        stat = path.stat()
    except OSError:
        return Resolver.from_model(path)  # raises ModelError with a clear reason
    return _compiled(path.resolve(), stat.st_mtime_ns, stat.st_size)


def turn_json(session_id: str, turn: Turn | None) -> dict[str, Any]:
    """What the page shows for one turn; ``turn`` is None when /end found no session open."""
    if turn is None:
        return {
            "session": session_id, "requestType": None, "intent": None, "slots": {}, "confidence": None,
            "speech": "", "ssml": None, "reprompt": None, "ended": True, "request": None, "response": None,
        }
    res = turn.resolution
    body = turn.response.get("response")
    output = body.get("outputSpeech") if isinstance(body, dict) else None
    ssml = output.get("ssml") if isinstance(output, dict) else None
    return {
        "session": session_id,
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


def _read_body(*, need_text: bool) -> tuple[str | None, str]:
    """The console session id and (if needed) the text from a JSON body, checked."""
    # Only application/json is read: a cross-site page cannot send that without a CORS
    # preflight, which this server never grants, so another site can't drive the console.
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConsoleInputError("body must be a JSON object sent as application/json")
    session = data.get("session")
    if session is not None and (not isinstance(session, str) or len(session) > 100):
        raise ConsoleInputError("session must be a console session id or null")
    if not need_text:
        return session, ""
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConsoleInputError("text is missing or empty")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        raise ConsoleInputError(f"text is longer than {MAX_TEXT_CHARS} characters")
    return session, text


def console_blueprint(
    runner: SkillRunner, model_dir: Path, *, max_sessions: int = MAX_SESSIONS
) -> Blueprint:
    """Serve the console page at / and its JSON API under /console (say, launch, end)."""
    # Compile the model now, so a broken model fails at start-up, not on the first click.
    resolver = load_resolver(model_file(model_dir))
    sessions = ConsoleSessions(runner, resolver, max_sessions=max_sessions)
    bp = Blueprint("console", __name__, static_folder="static", static_url_path=STATIC_URL)
    bp.console_sessions = sessions  # type: ignore[attr-defined]  # tests and tools inspect it

    @bp.record_once
    def _refuse_when_verifying(state: BlueprintSetupState) -> None:
        settings = state.app.extensions.get("bedtime", {}).get("settings")
        if settings is not None and getattr(settings, "verify_signature", False):
            raise RuntimeError("the developer console must never be served with request verification on")

    def exchange(action: str) -> Any:
        try:
            session_id, text = _read_body(need_text=action == "say")
        except ConsoleInputError as exc:
            return jsonify({"error": exc.reason}), 400
        session_id, entry = sessions.get(session_id)
        with entry.lock:
            sim = entry.simulator
            try:
                if action == "say":
                    turn: Turn | None = sim.say(text)
                elif action == "launch":
                    turn = sim.launch()
                else:
                    turn = sim.end()
            except Exception as exc:  # a failing skill is reported to the page, never as a trace
                log.error("console: the skill failed on %s: %s", action, type(exc).__name__, exc_info=exc)
                return jsonify({"error": f"the skill failed ({type(exc).__name__})", "session": session_id}), 500
        return jsonify(turn_json(session_id, turn))

    @bp.get("/")
    def page() -> Response:
        """Serve the console page (read per request, so an edited page shows on reload)."""
        html = resources.files("skill_tools").joinpath("static", "console.html").read_bytes()
        return Response(html, mimetype="text/html")

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
        return response

    return bp



def create_dev_app(settings: Settings) -> Flask:
    """The web app for local use: the skill at /alexa and the console at /, verification off.

    The console's simulated requests name Amazon's apiEndpoint; offline, nothing should call it,
    so its conversations run through a second skill object with the Alexa APIs off, sharing the store.
    """
    if settings.verify_signature:
        raise RuntimeError("the developer console must never be served with request verification on")
    persistence = make_persistence_adapter(settings)
    runner = SkillRunner(build_skill(settings, persistence=persistence))
    offline = SkillRunner(build_skill(settings.model_copy(update={"alexa_api": False}), persistence=persistence))
    app = create_app(settings, runner=runner)
    app.register_blueprint(console_blueprint(offline, default_model_dir()))
    return app
