"""A local stand-in of the Alexa APIs the skill calls: a real HTTP server on 127.0.0.1.

It answers the Reminders API (create, list, get, delete) and the device settings API (time zone)
the way the real service does, records every request it sees, and can be told to fail, stall,
hold or drip the next call (or every call), to do a call and lose its answer, or to list reminders
late. Use the ``alexa_api`` fixture; it starts the server on a free port and stops it after.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

REMINDERS = "/v1/alerts/reminders"
_ERROR_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


@dataclass(frozen=True)
class Recorded:
    """One request as the stub received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    status: int | None = None
    body: str | None = None
    stall: bool = False
    hold: threading.Event | None = None  # answer normally once this is set
    drip: float | None = None  # seconds between bytes of the answer
    lost: bool = False  # do the call, then never answer it
    method: str | None = None  # only a call with this method takes the fault (None: the next call)


@dataclass
class AlexaApiStub:
    """The server, what it has recorded, and the knobs a test turns."""

    default_time_zone: str = "Europe/London"
    time_zones: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    reminders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Whose each reminder is: the access token that made it. The real API lists only the calling
    # skill's reminders for the calling person, and the token says who that is.
    owners: dict[str, str] = field(default_factory=dict)
    # The stub's clock, in seconds, for when a reminder was made and when the list shows it; a test
    # sets it to the skill's clock so "a minute later" is a minute for both.
    now: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._faults: deque[_Fault] = deque()
        # When each reminder was made (by ``now``), and how long the list takes to show one.
        self._made: dict[str, float] = {}
        self._list_lag = 0.0
        self._always: _Fault | None = None
        self._lock = threading.Lock()
        self.open_calls = 0  # calls being answered right now (stalled, held or dripping included)
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval so stopping the stub after each test is quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="alexa-api-stub", daemon=True
        )

    @property
    def endpoint(self) -> str:
        """What a request's context.System.apiEndpoint would say."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, body: str | None = None) -> None:
        """Answer the next call with this status (and a JSON error body unless one is given)."""
        with self._lock:
            self._faults.append(_Fault(status=status, body=body))

    def stall_next(self, method: str | None = None) -> None:
        """Hold the next call (of ``method``, if given) without answering or acting on it until the
        stub stops (the client must time out)."""
        with self._lock:
            self._faults.append(_Fault(stall=True, method=method))

    def hold_next(self, method: str | None = None) -> threading.Event:
        """Hold the next call (of ``method``, if given) until the returned event is set, then answer it normally."""
        release = threading.Event()
        with self._lock:
            self._faults.append(_Fault(hold=release, method=method))
        return release

    def lose_answer_next(self, method: str | None = None) -> None:
        """Do the next call (of ``method``, if given), then hold its answer until the stub stops: with
        "POST", a create that times out after the reminder was made."""
        with self._lock:
            self._faults.append(_Fault(lost=True, method=method))

    def lag_list(self, seconds: float) -> None:
        """From now on, list a reminder only ``seconds`` after it was made (0: at once, as by default).

        The real list is eventually consistent: a reminder just made can be missing from it for a while.
        """
        with self._lock:
            self._list_lag = seconds

    def drip_next(self, interval: float) -> None:
        """Answer the next call one byte every ``interval`` seconds (a server that never times out a read)."""
        with self._lock:
            self._faults.append(_Fault(drip=interval))

    def stall_all(self) -> None:
        """From now on, hold every call without answering until the stub stops: a hung API."""
        with self._lock:
            self._always = _Fault(stall=True)

    def drip_all(self, interval: float) -> None:
        """From now on, answer every call one byte every ``interval`` seconds: a dripping API."""
        with self._lock:
            self._always = _Fault(drip=interval)

    def heal(self) -> None:
        """Answer normally again."""
        with self._lock:
            self._always = None
            self._faults.clear()

    def add_reminder(self, access_token: str) -> str:
        """A reminder this skill made for the person with this token in some earlier turn; return its id."""
        status, answer = self._create({"trigger": {"type": "SCHEDULED_ABSOLUTE"}, "alertInfo": {}}, f"Bearer {access_token}")
        assert status == 201
        return str(answer["alertToken"])

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[Recorded]:
        """The recorded requests, optionally only one method and path prefix."""
        with self._lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            ]

    def start(self) -> AlexaApiStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let any stalled handler go
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- what the real service does -------------------------------------------------------

    def _next_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (None, method):
                    self._faults.remove(fault)
                    return fault
            return self._always

    def _opened(self, change: int) -> None:
        with self._lock:
            self.open_calls += change

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, _error(401)
        if path == REMINDERS and method == "POST":
            return self._create(body, headers["authorization"])
        if path == REMINDERS and method == "GET":
            with self._lock:
                shown_before = self.now() - self._list_lag
                alerts = [r for t, r in self.reminders.items()
                          if self.owners.get(t) == headers["authorization"] and self._made.get(t, 0.0) <= shown_before]
            return 200, {"totalCount": str(len(alerts)), "alerts": alerts, "links": None}
        if path.startswith(REMINDERS + "/"):
            token = unquote(path[len(REMINDERS) + 1:])
            with self._lock:
                reminder = self.reminders.get(token)
                if reminder is not None and method == "DELETE":
                    del self.reminders[token]
            if reminder is None:
                return 404, _error(404)
            if method == "GET":
                return 200, reminder
            if method == "DELETE":
                return 200, None
        if path.startswith("/v2/devices/") and path.endswith("/settings/System.timeZone") and method == "GET":
            device = unquote(path.split("/")[3])
            return 200, self.time_zones.get(device, self.default_time_zone)
        return 404, _error(404)

    def _create(self, body: Any, owner: str) -> tuple[int, Any]:
        if not isinstance(body, dict) or "trigger" not in body or "alertInfo" not in body:
            return 400, _error(400)
        token = str(uuid.uuid4())
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        stored = {
            "alertToken": token,
            "createdTime": now,
            "updatedTime": now,
            "trigger": body["trigger"],
            "status": "ON",
            "alertInfo": body["alertInfo"],
            "pushNotification": body.get("pushNotification", {"status": "ENABLED"}),
            "version": "1",
        }
        with self._lock:
            self.reminders[token] = stored
            self.owners[token] = owner
            self._made[token] = self.now()
        return 201, {
            "alertToken": token,
            "createdTime": now,
            "updatedTime": now,
            "status": "ON",
            "version": "1",
            "href": f"{REMINDERS}/{token}",
        }


def _error(status: int) -> dict[str, str]:
    return {"code": _ERROR_CODES.get(status, "ERROR"), "message": f"stub answered {status}"}


def _handler_for(stub: AlexaApiStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            path = urlsplit(self.path).path
            headers = {name.lower(): value for name, value in self.headers.items()}
            stub._record(Recorded(self.command, path, headers, body))
            stub._opened(+1)
            try:
                self._reply(stub._next_fault(self.command), path, headers, body)
            finally:
                stub._opened(-1)

        def _reply(self, fault: _Fault | None, path: str, headers: dict[str, str], body: Any) -> None:
            if fault is not None and fault.stall:
                stub._release.wait(timeout=30)
                self.close_connection = True
                return
            if fault is not None and fault.lost:
                stub._answer(self.command, path, headers, body)  # done, and the answer never leaves
                stub._release.wait(timeout=30)
                self.close_connection = True
                return
            if fault is not None and fault.hold is not None:
                fault.hold.wait(timeout=30)
            if fault is not None and fault.status is not None:
                text = fault.body if fault.body is not None else json.dumps(_error(fault.status))
                self._send(fault.status, text)
                return
            status, payload = stub._answer(self.command, path, headers, body)
            self._send(status, "" if payload is None else json.dumps(payload), drip=fault.drip if fault else None)

        def _send(self, status: int, text: str, drip: float | None = None) -> None:
            data = text.encode("utf-8")
            if drip is None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client gave up on a held call: nobody to answer
                return
            # The whole answer, status line first, one byte at a time: each read gets a byte well
            # inside any per-read timeout, so only a deadline on the whole call stops it.
            head = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode("ascii")
            self.close_connection = True
            try:
                for byte in head + data:
                    if stub._release.wait(drip):
                        return  # the stub is stopping
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                return  # the client gave up and closed the connection, as it should

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def alexa_api() -> Iterator[AlexaApiStub]:
    """A running stand-in of the Alexa API on 127.0.0.1; stopped when the test ends."""
    stub = AlexaApiStub().start()
    try:
        yield stub
    finally:
        stub.stop()
