"""Outbound calls that cannot outrun Alexa: a time budget per turn, total-time timeouts, a circuit breaker.

Alexa waits about 8 seconds for a whole answer. Every call the skill makes to the Alexa APIs in one
turn draws on one ``Budget`` (3.5 s by default), so three calls cannot add up to nine seconds. The
transport enforces the budget as a wall-clock deadline: a watchdog shuts the socket at the deadline,
so a server that drips one byte a second cannot hold the turn (``requests`` only times each read).
A ``CircuitBreaker`` per API host, shared by every thread of the process, fails fast after a run of
failures and caps the calls in flight, so one slow Amazon API cannot take every worker thread and
starve people who only asked a question.

http.client and ssl are imported on the first call: a turn that calls nothing never loads them.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

    from ask_sdk_model.services import ApiClientRequest

log = logging.getLogger(__name__)

# Alexa's API hosts (context.System.apiEndpoint names one of them); nothing else gets a token.
ALEXA_API_HOSTS = frozenset({"api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# No Alexa API answer this skill reads is anywhere near this; more is not an answer.
MAX_RESPONSE_BYTES = 1024 * 1024
# Less than this left of the budget is not worth starting a call for.
MIN_CALL_SECONDS = 0.05
# How long a call may wait for a slot when a host already has its most calls in flight.
SLOT_WAIT_SECONDS = 0.25

Monotonic = Callable[[], float]


class OutboundError(Exception):
    """A call that did not happen or did not finish; ``kind`` says why, ``sent`` whether the request
    may have reached the server (then it may have done its work, though no answer says so)."""

    def __init__(self, kind: Literal["timeout", "budget", "circuit_open", "refused", "broken"], message: str,
                 *, sent: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.sent = sent


def endpoint_allowed(endpoint: str, *, allow_loopback: bool = False) -> bool:
    """True for an apiEndpoint the skill may send a person's access token to.

    In production only Alexa's API hosts over https (the request is signed by Alexa, but the
    token must not go anywhere even a signed request might name). ``allow_loopback`` also accepts
    a loopback host over http or https: the tests' stand-in of the API, never a real deployment.
    """
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        return False
    if parts.scheme == "https" and host in ALEXA_API_HOSTS and port in (None, 443):
        return True
    return allow_loopback and parts.scheme in ("http", "https") and host in LOOPBACK_HOSTS


class Budget:
    """The time one turn may still spend on outbound calls; every call of the turn draws on it."""

    def __init__(self, seconds: float, clock: Monotonic = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.deadline = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - self._clock())

    @property
    def spent(self) -> bool:
        return self.remaining() < MIN_CALL_SECONDS


@dataclass(slots=True)
class CircuitBreaker:
    """Fail fast for one API host after ``failures`` failures in a row, for ``cooldown`` seconds.

    Closed: calls go through (at most ``max_in_flight`` at once). Open: every call is refused until
    the cool-down ends. Then one trial call is let through (half-open): success closes the circuit,
    failure opens it again. Thread-safe; one per host per process.
    """

    failures: int = 5
    cooldown: float = 30.0
    max_in_flight: int = 4
    clock: Monotonic = time.monotonic
    state: Literal["closed", "open", "half_open"] = "closed"
    in_flight: int = 0
    failed_in_a_row: int = 0
    opened_at: float = 0.0
    refused: int = 0  # calls failed fast, for the tests and the logs
    _slots: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def acquire(self, wait: float = 0.0) -> str | None:
        """Take a slot for one call, waiting up to ``wait`` seconds for one; else say why not
        ("circuit_open" or "busy")."""
        give_up = time.monotonic() + wait
        with self._slots:
            while True:
                if self.state == "open":
                    if self.clock() - self.opened_at < self.cooldown:
                        self.refused += 1
                        return "circuit_open"
                    self.state = "half_open"  # the cool-down is over: one trial call may go
                if self.state == "half_open" and self.in_flight:
                    self.refused += 1
                    return "circuit_open"  # one trial at a time
                if self.in_flight < self.max_in_flight:
                    self.in_flight += 1
                    return None
                # Every slot is held by a call that has not come back. A healthy host frees one in
                # milliseconds; a slow one does not, and more threads waiting on it would only
                # starve everyone else, so the wait is short.
                left = give_up - time.monotonic()
                if left <= 0:
                    self.refused += 1
                    return "busy"
                self._slots.wait(left)

    def release(self, ok: bool) -> None:
        """Give the slot back and record how the call went."""
        with self._slots:
            self.in_flight = max(0, self.in_flight - 1)
            self._slots.notify()
            if ok:
                self.failed_in_a_row = 0
                self.state = "closed"
                return
            self.failed_in_a_row += 1
            if self.state == "half_open" or self.failed_in_a_row >= self.failures:
                if self.state != "open":
                    log.warning("circuit open for an Alexa API host after %d failures", self.failed_in_a_row)
                self.state = "open"
                self.opened_at = self.clock()


@dataclass(slots=True)
class Breakers:
    """One CircuitBreaker per API host, shared by every request the process serves."""

    failures: int = 5
    cooldown: float = 30.0
    max_in_flight: int = 4
    clock: Monotonic = time.monotonic
    _by_host: dict[str, CircuitBreaker] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def for_host(self, host: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._by_host.get(host)
            if breaker is None:
                breaker = CircuitBreaker(self.failures, self.cooldown, self.max_in_flight, self.clock)
                self._by_host[host] = breaker
            return breaker


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One answer read off the wire: its status, its headers and its body as text."""

    status: int
    headers: list[tuple[str, str]]
    body: str


_ssl_context: ssl.SSLContext | None = None
_ssl_lock = threading.Lock()


def _tls() -> ssl.SSLContext:
    """One verifying TLS context for the process (loading the CA bundle costs about 20 ms)."""
    global _ssl_context
    with _ssl_lock:
        if _ssl_context is None:
            import ssl

            try:
                import certifi

                _ssl_context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi is a dependency; the system store will do
                _ssl_context = ssl.create_default_context()
        return _ssl_context


def forget_connections() -> None:
    """Drop the process's TLS context, so the next call makes its own (skill.snapstart, after a restore).

    There is no connection pool to drop: every call opens its own connection and closes it.
    """
    global _ssl_context
    with _ssl_lock:
        _ssl_context = None


def http_call(request: ApiClientRequest, seconds: float) -> HttpResponse:
    """Send one request and read the whole answer within ``seconds`` of wall-clock time, or raise.

    A watchdog thread shuts the socket down at the deadline, which ends any connect, TLS
    handshake, header or body read that is still waiting, however slowly the server drips.
    HTTPS only, except to a loopback host; redirects are never followed (the token stays put).
    """
    import socket  # here, not at the top: most turns call no API, and a cold start should not load it

    import http.client

    url = request.url or ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        raise OutboundError("refused", f"refusing to send an access token over {parts.scheme or 'no scheme'} to {host!r}")
    if seconds < MIN_CALL_SECONDS:
        raise OutboundError("budget", "no time left for this call")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, parts.port, timeout=seconds, context=_tls())
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=seconds)
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        sock = connection.sock
        if sock is not None:
            try:
                # socket.socket's own shutdown, not SSLSocket's: that one also drops the TLS
                # object, which the reading thread may still be using.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(seconds, cut)
    watchdog.daemon = True
    headers: dict[str, str] = {}
    for name, value in request.headers or []:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    body = request.body
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # For messages: the method and host only. Paths hold device ids and reminder tokens, which
    # must not reach a log at any level.
    what = f"{(request.method or 'GET').upper()} {host}"
    sending = False  # from the first byte written, the server may act on the request
    watchdog.start()
    try:
        connection.connect()
        if fired.is_set():  # the deadline came while connecting, before there was a socket to cut
            raise TimeoutError("connect outlasted the deadline")
        sending = True
        connection.request((request.method or "GET").upper(), path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read(MAX_RESPONSE_BYTES + 1)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise OutboundError("broken", "the answer was larger than any Alexa API answer")
        answer = HttpResponse(response.status, list(response.getheaders()), raw.decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # socket.timeout is an OSError; a cut socket shows up as a reset, an EOF or a bad line.
        if fired.is_set() or isinstance(exc, TimeoutError):
            raise OutboundError("timeout", f"{what}: no answer within {seconds:.2f} s", sent=sending) from exc
        raise OutboundError("broken", f"{what}: {type(exc).__name__}", sent=sending) from exc
    finally:
        watchdog.cancel()
        connection.close()
    if fired.is_set():  # the deadline passed just as the last byte came in: still too late
        raise OutboundError("timeout", f"{what}: no answer within {seconds:.2f} s", sent=True)
    return answer


def guarded_call(
    request: ApiClientRequest,
    send: Callable[[ApiClientRequest, float], Any],
    *,
    budget: Budget,
    breakers: Breakers,
    per_call: float,
) -> Any:
    """Run ``send(request, seconds)`` within the turn's budget, through the host's circuit breaker.

    ``send`` returns something with a ``status_code`` or ``status``; a 5xx, a timeout or a broken
    connection counts against the host, anything else (a 4xx is about this person) does not.
    """
    if budget.spent:
        raise OutboundError("budget", "this turn's time for outbound calls is spent")
    parts = urlsplit(request.url or "")
    # Host and port: in production one breaker per Alexa API host; the tests' stand-ins differ by port.
    breaker = breakers.for_host(f"{(parts.hostname or '').lower()}:{parts.port or 443}")
    why_not = breaker.acquire(wait=min(SLOT_WAIT_SECONDS, budget.remaining()))
    if why_not is not None:
        raise OutboundError("circuit_open", f"calls to this Alexa API host are paused ({why_not})")
    ok = False
    try:
        result = send(request, min(per_call, budget.remaining()))
        status = getattr(result, "status_code", None) or getattr(result, "status", 0)
        ok = int(status or 0) < 500
        return result
    finally:
        breaker.release(ok)
