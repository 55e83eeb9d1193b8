"""Section 2: the skill's Flask app under gunicorn against two baselines under the same gunicorn.

Three servers run on loopback ports chosen by the OS: the skill exactly as `make run` serves it
(`python -m skill_tools.cli serve`, verification off, SQLite in a temp dir, Alexa APIs off), a bare
Flask JSON echo app, and the hello skill behind the same kind of adapter. They take turns under
the same load, round after round, so a busy moment on the machine falls on all of them: C client
threads, each on one keep-alive HTTP/1.1 connection, send the main-intent envelopes in turn.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from bench import ROOT, cases
from bench.measure import percentile, ratio

HOST = "127.0.0.1"  # loopback only, always
REQUEST_TIMEOUT = 10.0  # bounds one hung request
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Options:
    requests: int = 2000  # per server per round
    clients: int = 8
    workers: int = 2
    threads: int = 4
    rounds: int = 2
    max_seconds: float = 60.0  # a whole round for one server stops by itself after this


class ServerError(RuntimeError):
    """A server did not come up, or died; the message carries the tail of its log."""


def free_port() -> int:
    """A port the OS says is free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One gunicorn master we started, its port and its log file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _get(port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def post(port: int, body: bytes) -> dict[str, Any]:
    """One POST /alexa on a fresh connection; the parsed JSON answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("POST", "/alexa", body, HEADERS)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise ServerError(f"POST /alexa answered {response.status}: {data[:200]!r}")
        return json.loads(data)  # type: ignore[no-any-return]
    finally:
        conn.close()


def server_commands(options: Options, data_dir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """How each server is started: argv and extra environment."""
    common = ["--workers", str(options.workers), "--threads", str(options.threads)]
    skill_env = {
        "BEDTIME_VERIFY_SIGNATURE": "false",
        "BEDTIME_PERSISTENCE": "sqlite",
        "BEDTIME_DATA_DIR": str(data_dir),
        "BEDTIME_ALEXA_API": "false",
    }
    return {
        "skill": ([sys.executable, "-m", "skill_tools.cli", "serve", "--host", HOST, *common], skill_env),
        "echo": ([sys.executable, "-m", "bench.apps", "echo", "--host", HOST, *common], {}),
        "hello": ([sys.executable, "-m", "bench.apps", "hello", "--host", HOST, *common], {}),
    }


@contextmanager
def running(name: str, argv: list[str], extra_env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    """Start a server on a free port, wait for GET /healthz, and always stop it afterwards."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDTIME_")}
    env |= {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"} | extra_env
    # The log goes to a file: a pipe nobody reads would fill and stall the server mid-run.
    log: BinaryIO = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [*argv, "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    server = Server(name, port, process, log_path)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(server)
        log.close()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(f"{server.name} server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if _get(server.port, "/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise ServerError(f"{server.name} server not ready on port {server.port} after {START_TIMEOUT:.0f}s:\n{server.log_tail()}")


def _stop(server: Server) -> None:
    """SIGTERM to the gunicorn master (a graceful stop); SIGKILL to its process group if it lingers."""
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group is the one start_new_session gave this server
        process.wait(timeout=STOP_TIMEOUT)


@dataclass
class Tally:
    """What the clients saw, gathered under one lock."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other: "Tally") -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses.update(other.statuses)
        self.errors += other.errors
        self.seconds += other.seconds

    def summary(self) -> dict[str, Any]:
        done = sorted(self.latencies_ms)
        return {
            "requests": len(done) + sum(v for k, v in self.statuses.items() if not k.isdigit()),
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "seconds": round(self.seconds, 3),
            "rps": round(ratio(len(done), self.seconds), 1),
            "p50_ms": round(percentile(done, 0.50), 3),
            "p90_ms": round(percentile(done, 0.90), 3),
            "p99_ms": round(percentile(done, 0.99), 3),
            "max_ms": round(done[-1], 3) if done else 0.0,
        }


def load(port: int, bodies: list[bytes], total: int, clients: int, max_seconds: float) -> Tally:
    """Send `total` POSTs from `clients` keep-alive connections; stop early after max_seconds."""
    tally = Tally()
    deadline = time.monotonic() + max_seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        mine: list[float] = []
        statuses: Counter[str] = Counter()
        errors = 0
        try:
            for k in range(index, total, clients):
                if time.monotonic() > deadline:
                    statuses["not sent (time limit)"] += 1
                    errors += 1
                    continue
                started = time.perf_counter()
                try:
                    conn.request("POST", "/alexa", bodies[k % len(bodies)], HEADERS)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    statuses[type(exc).__name__] += 1
                    errors += 1
                    conn.close()  # a fresh connection for the next request
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                statuses[str(response.status)] += 1
                if response.status != 200:
                    errors += 1
        finally:
            conn.close()
            with tally.lock:
                tally.latencies_ms += mine
                tally.statuses.update(statuses)
                tally.errors += errors

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each request is bounded by REQUEST_TIMEOUT, so this join always returns.
        thread.join(max_seconds + REQUEST_TIMEOUT * 2)
    tally.seconds = time.perf_counter() - started
    return tally


def run(options: Options) -> dict[str, Any]:
    """rps and latency of each server under the same load, and the skill's ratios to each baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, ExitStack() as stack:
        tmp_path = Path(tmp)
        (tmp_path / "data").mkdir()
        commands = server_commands(options, tmp_path / "data")
        servers = {
            name: stack.enter_context(running(name, argv, env, tmp_path))
            for name, (argv, env) in commands.items()
        }
        # The routine needs a saved bedtime on the skill's store, and "next" needs the session the
        # wind-down answer opened: a short conversation with the skill server first.
        envelopes = cases.opening_cases()
        post(servers["skill"].port, cases.body(cases.set_bedtime()))
        envelopes["routine_next"] = cases.routine_next(
            post(servers["skill"].port, cases.body(envelopes["routine_wind_down"]))
        )
        bodies = [cases.body(envelopes[name]) for name in cases.CASE_ORDER]

        warmup = max(options.clients * 4, options.requests // 10)
        for server in servers.values():
            load(server.port, bodies, warmup, options.clients, options.max_seconds)
        tallies = {name: Tally() for name in servers}
        per_round: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        for _ in range(options.rounds):
            for name, server in servers.items():
                one = load(server.port, bodies, options.requests, options.clients, options.max_seconds)
                per_round[name].append(one.summary())
                tallies[name].add(one)
            for server in servers.values():
                if server.process.poll() is not None:
                    raise ServerError(f"{server.name} server died during the run:\n{server.log_tail()}")

    stats = {name: tally.summary() for name, tally in tallies.items()}
    ratios = {}
    for base in ("hello", "echo"):
        # Both read "how many times worse the skill is": > 1 means the skill is slower. Each round's
        # servers ran back to back, so the median of per-round ratios cancels drift in the machine's
        # load (another process on this shared box) that pooled totals would keep.
        pairs = list(zip(per_round[base], per_round["skill"]))
        ratios[f"rps_{base}_over_skill"] = round(statistics.median(ratio(b["rps"], s["rps"]) for b, s in pairs), 2)
        ratios[f"p50_skill_over_{base}"] = round(
            statistics.median(ratio(s["p50_ms"], b["p50_ms"]) for b, s in pairs), 2)
    return {
        "requests_per_round": options.requests,
        "rounds": options.rounds,
        "clients": options.clients,
        "workers": options.workers,
        "threads": options.threads,
        "worker_class": "gthread",
        "servers": stats,
        "ratios": ratios,
    }
