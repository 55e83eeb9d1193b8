"""Section 2: the skill's Flask app under gunicorn against two baselines under the same gunicorn.

Three servers run on loopback ports chosen by the OS: the skill exactly as `make run` serves it
(`python -m skill_tools.cli serve`, verification off, SQLite in a temp dir, Alexa APIs off), a bare
Flask JSON echo app, and the hello skill behind the same kind of adapter, all under the same
gunicorn options (skill.web.server.gunicorn_options). The load client runs in a process of its own
(bench/loadclient.py) with a fixed small number of threads, each on one keep-alive HTTP/1.1
connection, sending the main-intent envelopes in turn. The servers take turns round after round,
so a busy moment on the machine falls on all of them, and every figure is the median over the
rounds (ratios: the median of each round's ratio).

One client thread per worker: each request finds a worker free, so latency is what a request
costs the server, not time queued behind the benchmark's own other requests. (With twice as many
threads as workers, on two cores that the client also needs, every server's p99 was 7-13x its
p50, hello's and bare Flask's included: the spread measured the queue and the scheduler.)
Beside the wall-clock figures stands the CPU time the server's processes spent per request (read
from /proc), which the rest of the machine's load barely moves.
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
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bench import ROOT, cases
from bench.measure import ratio
from skill.web.server import gunicorn_options

HOST = "127.0.0.1"  # loopback only, always
REQUEST_TIMEOUT = 10.0  # bounds one hung request
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Options:
    requests: int = 2000  # per server per round
    clients: int = 2  # the load client's threads: fixed, one per worker (see the module docstring)
    workers: int = 2
    threads: int = 4  # used by the gthread worker only; the default gevent worker has a greenlet per connection
    rounds: int = 5
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


def drive(
    ports: dict[str, int], bodies: list[bytes], options: Options, pids: dict[str, int] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Run the load client in its own process; return each server's per-round summaries.

    `pids` (each server's gunicorn master) lets the client read the CPU time the servers spend.
    """
    # A whole round's worth first: every envelope reaches every worker before anything is timed.
    warmup = max(options.clients * 4, options.requests)
    plan = {
        "servers": ports, "bodies": [body.decode("utf-8") for body in bodies], "requests": options.requests,
        "clients": options.clients, "rounds": options.rounds, "warmup": warmup, "max_seconds": options.max_seconds,
        "pids": pids or {},
    }
    # Every round stops by itself (max_seconds, and each request's own timeout): this bounds the whole run.
    limit = (options.rounds + 1) * len(ports) * (options.max_seconds + 30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDTIME_")} | {"PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-m", "bench.loadclient"], input=json.dumps(plan), text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        raise ServerError(f"the load client did not finish within {limit:.0f}s") from None
    if done.returncode != 0:
        raise ServerError(f"the load client failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def median_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's rounds in one line: medians of rps and latencies, totals of requests and errors."""
    statuses: Counter[str] = Counter()
    for one in rounds:
        statuses.update(one["statuses"])
    middle = {key: round(statistics.median(one[key] for one in rounds), 3)
              for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "seconds")}
    return {
        "requests": sum(one["requests"] for one in rounds),
        "errors": sum(one["errors"] for one in rounds),
        "statuses": dict(sorted(statuses.items())),
        **middle,
        "rps": round(middle["rps"], 1),
        # The tail against the middle, round by round (the median of each round's p99/p50).
        "p99_over_p50": round(statistics.median(ratio(one["p99_ms"], one["p50_ms"]) for one in rounds), 2),
        "cpu_ms_per_request": cpu_per_request(rounds),
    }


def cpu_per_request(rounds: list[dict[str, Any]]) -> float | None:
    """The server's CPU ms per request over all rounds (totals, so the clock tick's 10 ms grain washes out)."""
    measured = [one for one in rounds if one.get("cpu_ms") is not None]
    answered = sum(one["requests"] - one["errors"] for one in measured)
    if not measured or answered <= 0:
        return None
    return round(sum(one["cpu_ms"] for one in measured) / answered, 3)


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

        per_round = drive({name: server.port for name, server in servers.items()}, bodies, options,
                          {name: server.process.pid for name, server in servers.items()})
        for server in servers.values():
            if server.process.poll() is not None:
                raise ServerError(f"{server.name} server died during the run:\n{server.log_tail()}")

    stats = {name: median_summary(rounds) for name, rounds in per_round.items()}
    ratios = {}
    for base in ("hello", "echo"):
        # Both read "how many times worse the skill is": > 1 means the skill is slower. Each round's
        # servers ran back to back, so the median of per-round ratios cancels drift in the machine's
        # load (another process on this shared box) that pooled totals would keep.
        pairs = list(zip(per_round[base], per_round["skill"]))
        ratios[f"rps_{base}_over_skill"] = round(statistics.median(ratio(b["rps"], s["rps"]) for b, s in pairs), 2)
        ratios[f"p50_skill_over_{base}"] = round(
            statistics.median(ratio(s["p50_ms"], b["p50_ms"]) for b, s in pairs), 2)
        skill_cpu, base_cpu = stats["skill"]["cpu_ms_per_request"], stats[base]["cpu_ms_per_request"]
        if skill_cpu and base_cpu:
            ratios[f"cpu_skill_over_{base}"] = round(skill_cpu / base_cpu, 2)
    return {
        "requests_per_round": options.requests,
        "rounds": options.rounds,
        "clients": options.clients,
        "client": "own process (bench/loadclient.py), figures are medians over the rounds",
        "workers": options.workers,
        "threads": options.threads,
        "worker_class": gunicorn_options(HOST, 0)["worker_class"],
        "servers": stats,
        "ratios": ratios,
    }
