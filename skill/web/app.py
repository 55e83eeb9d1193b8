"""The Flask app factory: POST /alexa runs the skill, GET /healthz says it is alive.

This is our own thin adapter: flask-ask-sdk cannot be imported on this platform (its oscrypto
dependency fails on OpenSSL 3.0.1x), and the adapter is only a few lines over `SkillRunner`.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from skill.runtime import BadEnvelope, SkillRunner, application_id, describe_payload, parse_json
from skill.settings import Settings

log = logging.getLogger(__name__)


class Verifier(Protocol):
    """Proves a request came from Alexa; returns the parsed body or raises with a safe reason."""

    def verify(self, headers: Any, body: bytes) -> dict[str, Any]: ...


def error(status: int, reason: str) -> tuple[Response, int]:
    """Every error a client sees: JSON with a short reason, never a stack trace."""
    return jsonify({"error": reason}), status


def refuse(status: int, reason: str) -> tuple[Response, int]:
    """An error for a request we would not run, noted in the request's log line."""
    if hasattr(g, "log"):
        g.log["outcome"] = f"refused: {reason}"
    return error(status, reason)


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
        )

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["bedtime"] = {"settings": settings, "runner": runner, "verifier": verifier}

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.log = {"request_id": None, "request_type": None, "intent": None, "outcome": None}

    @app.after_request
    def _log(response: Response) -> Response:
        # One line per HTTP request; ids and outcome only, never the body or a user id.
        info = getattr(g, "log", {}) | {
            "http_id": request.headers.get("X-Request-Id"),  # a proxy's id, when there is one
            "path": request.path,
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - getattr(g, "started", time.perf_counter())) * 1000, 2),
        }
        log.info("%s %s %s", request.method, request.path, response.status_code, extra={"http": info})
        return response

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
        g.log.update(describe_payload(payload))
        if settings.capture_requests and isinstance(payload, dict):
            from skill.web.capture import redact

            # Opt-in only: a captured envelope holds what the person said (never ids or tokens).
            log.info("captured request", extra={"http": {"capture": redact(payload)}})
        if settings.skill_id and application_id(payload) != settings.skill_id:
            return refuse(400, "wrong application id")
        try:
            answer = runner.invoke(payload)
        except BadEnvelope as exc:
            return refuse(400, exc.reason)
        g.log["outcome"] = "ended" if answer.get("response", {}).get("shouldEndSession") else "answered"
        return jsonify(answer)

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
            return jsonify({"status": "unavailable", "error": health.reason}), 503
        return jsonify({"status": "ok"})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return error(exc.code or 500, (exc.name or "error").lower())

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        return error(500, "internal error")

    return app
