"""A bounded load test for POST /alexa on this machine: N requests from C keep-alive clients.

It serves the question "does the endpoint hold up under steady concurrent use?". Each client
thread keeps one HTTP/1.1 connection open and sends the sample envelopes from
tests/fixtures/requests/ in turn, each with a fresh requestId and timestamp. At the end it
prints one JSON report (requests, seconds, rps, p50/p90/p99/max latency in ms, errors and the
count of each status) and exits 1 if anything failed.

It only talks to loopback addresses (127.0.0.0/8, ::1, localhost), and stops by itself after
--max-seconds whatever happens. Some intents make the skill call the Alexa APIs (reminders, time
zone) at the request's apiEndpoint; every envelope's apiEndpoint is pointed at a small stand-in
this script runs on 127.0.0.1, so a load test never sends fake tokens to api.amazonalexa.com. With --serve it starts `bedtime-skill serve` on a free port
(verification off, SQLite in a temp dir), waits for /healthz, runs, then stops the server.

    python -m skill_tools.loadtest --serve -n 3000 -c 8
    python -m skill_tools.loadtest --url http://127.0.0.1:5000/alexa

Standard library only, so it runs with any Python 3.11.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT / "tests" / "fixtures" / "requests"
DEFAULT_URL = "http://127.0.0.1:5000/alexa"
# A single request should never take this long; it bounds a hung server per request.
REQUEST_TIMEOUT = 10.0
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0


class UsageError(Exception):
    """A target or option this tool refuses; the message says why, in one line."""


# --- the target ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where requests go: a loopback host, a port and a path."""

    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"


def is_loopback_host(host: str) -> bool:
    """True only for 127.0.0.0/8, ::1 and the name localhost; other names are not resolved, so not trusted."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(url: str) -> Target:
    """Check a URL is plain HTTP to a loopback address; raise UsageError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise UsageError(f"only http:// URLs are supported, not {url!r}")
    host = parts.hostname
    if not host or not is_loopback_host(host):
        raise UsageError(f"refusing to load-test {host or url!r}: only 127.0.0.0/8, ::1 and localhost are allowed")
    try:
        port = parts.port or 80
    except ValueError:
        raise UsageError(f"invalid port in {url!r}") from None
    return Target(host, port, parts.path or "/")


# --- the requests --------------------------------------------------------------------------


def load_envelopes(folder: Path) -> list[dict[str, Any]]:
    """Read the sample envelopes to cycle through; raise UsageError if there are none."""
    envelopes = []
    for path in sorted(folder.glob("*.json")):
        try:
            envelope = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read fixture {path}: {exc}") from None
        if isinstance(envelope, dict) and isinstance(envelope.get("request"), dict):
            envelopes.append(envelope)
    if not envelopes:
        raise UsageError(f"no request envelopes in {folder}")
    return envelopes


def fresh_body(envelope: dict[str, Any], api_endpoint: str | None = None) -> bytes:
    """The envelope as Alexa would send it now: a new requestId, the current timestamp, our API stand-in."""
    request = dict(envelope["request"])
    request["requestId"] = f"amzn1.echo-api.request.{uuid.uuid4()}"
    request["timestamp"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = {**envelope, "request": request}
    context = envelope.get("context")
    if api_endpoint and isinstance(context, dict) and isinstance(context.get("System"), dict):
        fresh["context"] = {**context, "System": {**context["System"], "apiEndpoint": api_endpoint}}
    return json.dumps(fresh, separators=(",", ":")).encode("utf-8")


# --- a stand-in for the Alexa APIs the skill calls -----------------------------------------

REMINDERS = "/v1/alerts/reminders"


class _AlexaApiHandler(BaseHTTPRequestHandler):
    """Answer the Reminders and time-zone calls the way the real service does, quickly and quietly."""

    protocol_version = "HTTP/1.1"
    calls: Counter[str]  # set on the subclass made per server
    lock: threading.Lock

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        with self.lock:
            self.calls[self.command] += 1
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        status: int
        payload: Any
        if self.command == "POST" and path == REMINDERS:
            token = str(uuid.uuid4())
            status, payload = 201, {"alertToken": token, "createdTime": now, "updatedTime": now,
                                    "status": "ON", "version": "1", "href": f"{REMINDERS}/{token}"}
        elif self.command == "DELETE" and path.startswith(REMINDERS + "/"):
            status, payload = 200, None
        elif self.command == "GET" and path.startswith("/v2/devices/") and path.endswith("/settings/System.timeZone"):
            status, payload = 200, "Europe/London"
        else:
            status, payload = 404, {"code": "NOT_FOUND", "message": "not in the load-test stand-in"}
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: thousands of access lines would drown the report."""


@contextmanager
def alexa_api() -> Iterator[tuple[str, Counter[str]]]:
    """Run the API stand-in on a free loopback port; yield its URL and the count of calls by method."""
    calls: Counter[str] = Counter()
    handler = type("AlexaApi", (_AlexaApiHandler,), {"calls": calls, "lock": threading.Lock()})
    with loopback_http(handler, "alexa-api") as url:
        yield url, calls


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler], name: str) -> Iterator[str]:
    """Serve `handler` on a free loopback port in a thread of its own; yield the base URL, then stop."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, gathered under one lock."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    connection_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, status: int, ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(ms)
            self.statuses[str(status)] += 1

    def failed(self, kind: str) -> None:
        with self.lock:
            self.connection_errors += 1
            self.statuses[kind] += 1


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Work:
    """The request bodies still to send, shared by every client; built one at a time, on demand."""

    def __init__(self, envelopes: list[dict[str, Any]], count: int, api_endpoint: str | None = None) -> None:
        self._envelopes = envelopes
        self._count = count
        self._api_endpoint = api_endpoint
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> bytes | None:
        """The next body, or None when all have been handed out."""
        with self._lock:
            if self._next >= self._count:
                return None
            index = self._next
            self._next += 1
        return fresh_body(self._envelopes[index % len(self._envelopes)], self._api_endpoint)


def _client(target: Target, work: Work, tally: Tally, deadline: float, stop: threading.Event) -> None:
    """One keep-alive connection sending requests until the work or the time runs out."""
    conn: http.client.HTTPConnection | None = None
    try:
        while not stop.is_set():
            body = work.take()
            if body is None:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stop.set()
                return
            if conn is None:
                conn = http.client.HTTPConnection(target.host, target.port, timeout=min(REQUEST_TIMEOUT, remaining))
            started = time.perf_counter()
            try:
                conn.request("POST", target.path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                # Count it, then start a fresh connection: the old one is in an unknown state.
                tally.failed(f"error:{type(exc).__name__}")
                conn.close()
                conn = None
                continue
            tally.answered(response.status, (time.perf_counter() - started) * 1000)
            if response.will_close:
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()


def run(
    target: Target,
    envelopes: list[dict[str, Any]],
    *,
    requests: int,
    concurrency: int,
    deadline: float,
    api_endpoint: str | None = None,
) -> dict[str, Any]:
    """Send `requests` envelopes from `concurrency` clients and return the report."""
    tally = Tally()
    stop = threading.Event()
    work = Work(envelopes, requests, api_endpoint)
    threads = [
        threading.Thread(target=_client, args=(target, work, tally, deadline, stop), name=f"client-{i}", daemon=True)
        for i in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each client checks the deadline between requests and its socket timeout bounds one request.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT)
    stop.set()
    seconds = time.perf_counter() - started
    latencies = sorted(tally.latencies_ms)
    done = len(latencies) + tally.connection_errors
    non_200 = sum(n for status, n in tally.statuses.items() if status != "200")
    return {
        "url": target.url,
        "requests": done,
        "requested": requests,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "rps": round(done / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "errors": non_200,
        "connection_errors": tally.connection_errors,
        "statuses": dict(sorted(tally.statuses.items())),
        "timed_out": done < requests,
    }


# --- --serve: a server of our own ----------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn's graceful stop), then wait; SIGKILL only if it will not go."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT)


@contextmanager
def served(deadline: float, workers: int = 2) -> Iterator[Target]:
    """Run `bedtime-skill serve` on a free loopback port for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="bedtime-loadtest-") as tmp:
        port = free_port()
        log_path = Path(tmp) / "server.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "BEDTIME_VERIFY_SIGNATURE": "false",
            "BEDTIME_PERSISTENCE": "sqlite",
            "BEDTIME_DATA_DIR": str(Path(tmp) / "data"),
            "BEDTIME_SKILL_ID": "",  # the fixtures carry a test skill id; an operator's real one would refuse them
            "BEDTIME_ALEXA_API_ALLOW_LOOPBACK": "true",  # the Alexa API stand-in below listens on loopback
        }
        with serving_process(env, port, workers, deadline, log_path):
            yield Target("127.0.0.1", port, "/alexa")


@contextmanager
def serving_process(env: dict[str, str], port: int, workers: int, deadline: float, log_path: Path) -> Iterator[None]:
    """`bedtime-skill serve` on loopback with `env`, until /healthz answers; stopped when the block ends."""
    command = [sys.executable, "-m", "skill_tools.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        ready_by = min(deadline, time.monotonic() + SERVER_START_TIMEOUT)
        while not _healthy(port):
            if process.poll() is not None:
                raise UsageError(f"the server exited with code {process.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > ready_by:
                raise UsageError(f"the server did not answer /healthz in time:\n{_tail(log_path)}")
            time.sleep(0.1)
        yield
    finally:
        _stop(process)


# --- command line --------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the endpoint (loopback only; default {DEFAULT_URL})")
    parser.add_argument("-n", "--requests", type=positive, default=3000, help="how many requests (default 3000)")
    parser.add_argument("-c", "--concurrency", type=positive, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="hard limit for the whole run (default 120)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="folder of request envelopes")
    parser.add_argument("--serve", action="store_true", help="start `bedtime-skill serve` on a free port and test that")
    parser.add_argument("--workers", type=positive, default=2, help="server worker processes with --serve (default 2)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the load test; 0 when every request got a 200, 1 when any did not, 2 for a refused setup."""
    args = build_parser().parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    try:
        if args.max_seconds <= 0:
            raise UsageError("--max-seconds must be positive")
        envelopes = load_envelopes(args.fixtures)
        # Refuse a bad target before starting anything.
        server = served(deadline, workers=args.workers) if args.serve else nullcontext(parse_target(args.url))
        with alexa_api() as (api_endpoint, api_calls), server as target:
            report = run(
                target,
                envelopes,
                requests=args.requests,
                concurrency=args.concurrency,
                deadline=deadline,
                api_endpoint=api_endpoint,
            )
            report["alexa_api_calls"] = dict(sorted(api_calls.items()))
    except UsageError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(json.dumps(report, indent=2))
    return 1 if report["errors"] or report["timed_out"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
