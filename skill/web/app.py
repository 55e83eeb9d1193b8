"""The Flask app factory: POST /alexa runs the skill, GET /healthz says it is alive.

This is our own thin adapter: flask-ask-sdk cannot be imported on this platform (its oscrypto
dependency fails on OpenSSL 3.0.1x), and the adapter is only a few lines over `SkillRunner`.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from skill.runtime import BadEnvelope, SkillRunner, application_id, describe_payload, parse_json
from skill.settings import Settings

log = logging.getLogger(__name__)

# Where a request's log fields gather in the WSGI environ (ids and outcome, filled in by the view).
LOG_FIELDS = "bedtime.log"


class Verifier(Protocol):
    """Proves a request came from Alexa; returns the parsed body or raises with a safe reason."""

    def verify(self, headers: Any, body: bytes) -> dict[str, Any]: ...


def json_response(data: Any, status: int = 200) -> Response:
    """JSON data as a response: compact, keys in the order they were built.

    Flask's jsonify sorts every key and goes through its JSON provider, which costs a request
    more than the answer needs; Alexa reads the body as JSON, whatever the order of its keys.
    """
    return Response(json.dumps(data, separators=(",", ":")), status=status, mimetype="application/json")


def error(status: int, reason: str) -> Response:
    """Every error a client sees: JSON with a short reason, never a stack trace."""
    return json_response({"error": reason}, status)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(host: str) -> str:
    """The name in a Host header, without its port: "localhost:5000" -> "localhost", "[::1]:5000" -> "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refuse(status: int, reason: str) -> Response:
    """An error for a request we would not run, noted in the request's log line."""
    fields = request.environ.get(LOG_FIELDS)
    if fields is not None:
        fields["outcome"] = f"refused: {reason}"
    return error(status, reason)


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class AccessLog:
    """WSGI middleware: one JSON log line per HTTP request, written once the answer has been sent.

    The line carries ids and the outcome, never the body or a user id. It is written when the
    server closes the response (PEP 3333 servers do that after the last byte went out), so
    neither Alexa nor a load balancer waits on the log; `latency_ms` runs from the request
    reaching the app to its status being known. At a level above INFO it costs nothing.
    """

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not log.isEnabledFor(logging.INFO):
            return self.app(environ, start_response)
        exchange = _Exchange(environ, start_response)
        exchange.body = self.app(environ, exchange.start_response)
        return exchange


class _Exchange:
    """One request on its way through: the status it got, then its body, then its log line on close."""

    __slots__ = ("environ", "_start_response", "started", "ended", "status", "body")

    def __init__(self, environ: dict[str, Any], start_response: StartResponse) -> None:
        self.environ = environ
        self._start_response = start_response
        self.started = time.perf_counter()
        self.ended = 0.0
        self.status = 500  # what the line says if the app never answered
        self.body: Iterable[bytes] = ()
        environ[LOG_FIELDS] = {"request_id": None, "request_type": None, "intent": None, "outcome": None}

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.ended = int(status[:3]), time.perf_counter()
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._write_line()

    def _write_line(self) -> None:
        environ = self.environ
        # PATH_INFO is bytes read as latin-1 (PEP 3333); Flask's request.path decodes it the same way.
        path = "/" + environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace").lstrip("/")
        info = environ[LOG_FIELDS] | {
            "http_id": environ.get("HTTP_X_REQUEST_ID"),  # a proxy's id, when there is one
            "path": path,
            "status": self.status,
            "latency_ms": round(((self.ended or time.perf_counter()) - self.started) * 1000, 2),
        }
        # makeRecord and handle, as log.info would call them, less its walk up the stack for a
        # file and line number that the JSON line does not show (a fifth of the line's cost).
        record = log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %s",
                                (environ.get("REQUEST_METHOD"), path, self.status), None, extra={"http": info})
        log.handle(record)


def create_app(
    settings: Settings | None = None,
    *,
    runner: SkillRunner | None = None,
    verifier: Verifier | None = None,
) -> Flask:
    """Build the web app; tests pass their own settings, runner or verifier."""
    settings = settings or Settings.from_env_pydantic()
    if runner is None:
        from skill.builder import build_skill
        from skill.profile.factory import make_persistence_adapter

        runner = SkillRunner(build_skill(settings, persistence=make_persistence_adapter(settings)))
    if verifier is None and settings.verify_signature:
        from skill.web.verify import RequestVerifier

        from skill.web.verify import fetcher_for

        verifier = RequestVerifier(
            skill_id=settings.skill_id,
            ca_bundle=settings.ca_bundle,
            tolerance_seconds=settings.timestamp_tolerance,
            fetch=fetcher_for(settings),
            fetch_timeout=settings.cert_fetch_timeout,
            fetches_per_minute=settings.cert_fetches_per_minute,
            failure_ttl=settings.cert_failure_ttl,
            pinned=tuple(url.strip() for url in (settings.cert_urls or "").split(",") if url.strip()),
        )
        verifier.prefetch()  # the pinned chains are trusted before this worker answers anyone

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["bedtime"] = {"settings": settings, "runner": runner, "verifier": verifier}

    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]

    if verifier is None:
        # Nothing proves a request came from Alexa, so only this machine may ask: a web page elsewhere
        # could otherwise reach a developer's local store by DNS rebinding (a foreign name resolving to
        # 127.0.0.1) or by posting from its own origin.
        allowed = LOOPBACK_HOSTS | {h.strip().lower() for h in (settings.allowed_hosts or "").split(",") if h.strip()}

        @app.before_request
        def only_this_machine() -> Response | None:
            if host_name(request.host) not in allowed:
                return refuse(403, "host not allowed")
            origin = request.headers.get("Origin")
            if origin is not None and (urlsplit(origin).hostname or "") not in allowed:
                return refuse(403, "origin not allowed")
            return None

    @app.post("/alexa")
    def alexa() -> Any:
        """Answer one Alexa request envelope."""
        if request.mimetype != "application/json":
            return refuse(415, "content type must be application/json")
        body = request.get_data(cache=False)
        if verifier is not None:
            from skill.web.verify import VerificationError

            try:
                payload = verifier.verify(request.headers, body)
            except VerificationError as exc:
                return refuse(400, exc.reason)
        else:
            try:
                payload = parse_json(body)
            except (ValueError, UnicodeDecodeError):
                return refuse(400, "malformed JSON")
        fields = request.environ.get(LOG_FIELDS)
        if fields is not None:
            fields.update(describe_payload(payload))
        if settings.capture_requests and isinstance(payload, dict):
            from skill.web.capture import redact

            # Opt-in only: known-safe fields; what the person said only if capture_personal asks; never ids or tokens.
            captured = redact(payload, personal=settings.capture_personal)
            log.info("captured request", extra={"http": {"capture": captured}})
        if settings.skill_id and application_id(payload) != settings.skill_id:
            return refuse(400, "wrong application id")
        try:
            answer = runner.invoke(payload)
        except BadEnvelope as exc:
            return refuse(400, exc.reason)
        if fields is not None:
            fields["outcome"] = "ended" if answer.get("response", {}).get("shouldEndSession") else "answered"
        return json_response(answer)

    from skill.web.health import StoreProbe

    # The adapter the skill really uses, so the check writes where requests write.
    store_probe = StoreProbe(
        getattr(runner.skill, "persistence_adapter", None), cache_seconds=settings.healthz_cache_seconds
    )

    @app.get("/healthz")
    def healthz() -> Any:
        """Serve load balancers and the deploy check: 200 only when the store can be written and read."""
        health = store_probe.check()
        if not health.ok:
            return json_response({"status": "unavailable", "error": health.reason}, 503)
        return json_response({"status": "ok"})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return error(exc.code or 500, (exc.name or "error").lower())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return error(500, "internal error")

    return app
