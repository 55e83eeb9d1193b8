"""Attack drills on loopback: does the skill keep answering genuine requests while it is attacked?

It serves the question issue 12 asks: "stays up under attack". It starts `bedtime-skill serve`
on a free 127.0.0.1 port with request verification ON (a test CA made for the run, the skill's
certificate chain served by a stand-in on loopback through BEDTIME_CERT_FETCH_BASE), sends a
steady stream of genuine signed requests, and measures them in three phases:

    baseline      genuine requests only
    slow          + 16 clients sending headers a byte at a time and 16 sending a body a byte at
                    a time (each reconnects as soon as the server cuts it)
    cert-flood    + 64 clients sending unsigned requests, each naming a certificate URL never seen
                    before (with a fresh timestamp and the right skill id, so each could cost a fetch);
                    the stand-in drips its answer for every such URL, the worst a certificate host can do

For each phase it reports the genuine requests' success rate (HTTP 200) and p50/p95/p99 latency
(a failed request counts with the time it took to fail), prints a table, writes JSON, and checks
the targets: slow >= 95% answered with p95 < 1 s; cert-flood p50 < 50 ms. Exit 0 when all are
met, 1 when not, 2 for a refused setup. Everything is bounded by --max-seconds.

    python -m skill_tools.attack                 # the full drill (about a minute)
    python -m skill_tools.attack --quick         # a short one, as the test suite runs it

A developer tool run from a source checkout: it signs with tests/pki.py and reads the sample
envelopes in tests/fixtures/requests/.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from skill_tools.loadtest import (
    loopback_http,
    serving_process,
    DEFAULT_FIXTURES,
    ROOT,
    UsageError,
    alexa_api,
    free_port,
    fresh_body,
    load_envelopes,
    percentile,
)

CERT_PATH = "/echo.api/echo-api-cert.pem"
CERT_URL = "https://s3.amazonaws.com" + CERT_PATH
REQUEST_TIMEOUT = 10.0  # a genuine request not answered by then counts as failed, with this latency
DRIP_GAP = 0.2  # seconds between the bytes a slow client or the dripping certificate host sends
TARGETS = {
    "slow": {"success_rate_min": 0.95, "p95_ms_max": 1000.0},
    "cert-flood": {"p50_ms_max": 50.0},
}
DEFAULT_REPORT = ROOT / "var" / "attack-report.json"


# --- a CA for the run, and the certificate host's stand-in ---------------------------------


@dataclass(frozen=True)
class Signer:
    """Signs request bodies as Alexa would, with a chain the server is told to trust."""

    key: Any
    chain: bytes
    bundle: Path

    def headers(self, body: bytes) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self.key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return {"SignatureCertChainUrl": CERT_URL, "Signature-256": base64.b64encode(signature).decode()}


def make_signer(folder: Path) -> Signer:
    """A root, an intermediate and an Alexa-like leaf valid today (tests/pki.py makes them)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import pki

    today = datetime.now(timezone.utc)
    root = pki.make_root(not_before=today - timedelta(days=30), not_after=today + timedelta(days=365))
    intermediate = pki.make_intermediate(root, not_before=today - timedelta(days=30), not_after=today + timedelta(days=365))
    leaf = pki.make_leaf(intermediate, not_before=today - timedelta(days=1), not_after=today + timedelta(days=30))
    return Signer(leaf.key, pki.chain_pem(leaf, intermediate), pki.write_bundle(folder / "bundle.pem", root))


@contextmanager
def cert_host(chain: bytes, stop: threading.Event) -> Iterator[tuple[str, list[str]]]:
    """Serve the chain at CERT_PATH; drip every other path a byte per DRIP_GAP. Yields its base URL and the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            asked.append(self.path)
            try:
                if self.path == CERT_PATH:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(chain)))
                    self.end_headers()
                    self.wfile.write(chain)
                    return
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n" + b"x" * 4000:
                    if stop.wait(DRIP_GAP):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                pass  # the server gave up on us: that is the point

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http(Handler, "cert-host") as url:
        try:
            yield url, asked
        finally:
            stop.set()  # the dripping answers end before the server stops


# --- the server under attack -------------------------------------------------------------


@contextmanager
def served(env_extra: dict[str, str], deadline: float, workers: int, log_dir: Path) -> Iterator[int]:
    """Run `bedtime-skill serve` (verification on) on a free loopback port; yield the port."""
    port = free_port()
    log_path = log_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDTIME_")}
    env |= {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))} | env_extra
    with serving_process(env, port, workers, deadline, log_path):
        yield port


# --- genuine traffic ----------------------------------------------------------------------


@dataclass
class Tally:
    """What the genuine clients saw in one phase."""

    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: str, ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(ms)
            if outcome == "200":
                self.ok += 1
            else:
                self.failures[outcome] = self.failures.get(outcome, 0) + 1

    def summary(self) -> dict[str, Any]:
        values = sorted(self.latencies_ms)
        sent = len(values)
        return {
            "sent": sent,
            "answered": self.ok,
            "success_rate": round(self.ok / sent, 4) if sent else 0.0,
            "p50_ms": round(percentile(values, 0.50), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
            "max_ms": round(values[-1], 2) if values else 0.0,
            "failures": dict(sorted(self.failures.items())),
        }


def genuine_client(port: int, make_body: Callable[[], tuple[bytes, dict[str, str]]], tally: Tally,
                   until: float, pace: float) -> None:
    """One keep-alive client sending a signed request every `pace` seconds until `until`."""
    conn: http.client.HTTPConnection | None = None
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            body, headers = make_body()
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            try:
                conn.request("POST", "/alexa", body=body, headers={"Content-Type": "application/json", **headers})
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                outcome = f"error:{type(exc).__name__}"
                if conn is not None:
                    conn.close()
                conn = None
            tally.record(outcome, (time.monotonic() - started) * 1000)
            time.sleep(max(0.0, pace - (time.monotonic() - started)))
    finally:
        if conn is not None:
            conn.close()


# --- attackers ------------------------------------------------------------------------------


@dataclass
class AttackCount:
    """What the attackers did: connections opened (each reopen means the server cut one) and answers seen."""

    connections: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def opened(self) -> None:
        with self.lock:
            self.connections += 1

    def answered(self, status: str) -> None:
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1


def slow_client(port: int, kind: str, count: AttackCount, stop: threading.Event) -> None:
    """Hold a connection by sending a byte every DRIP_GAP: of the headers ("header") or of the body ("body")."""
    head = b"POST /alexa HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
        except OSError:
            stop.wait(DRIP_GAP)
            continue
        count.opened()
        try:
            if kind == "header":
                sock.sendall(head)
                drip = b"X-Slow: " + b"a" * 100_000
            else:
                sock.sendall(head + b"Content-Length: 60000\r\n\r\n")
                drip = b'{"version":"1.0",' + b" " * 60_000
            sock.settimeout(DRIP_GAP)
            for i in range(len(drip)):
                if stop.wait(DRIP_GAP):
                    return
                sock.sendall(drip[i : i + 1])
                try:
                    if sock.recv(4096) == b"":
                        break  # the server closed on us
                    count.answered("cut with an answer")
                    break
                except TimeoutError:
                    pass
        except OSError:
            pass  # reset by the server: reconnect
        finally:
            sock.close()


def flood_client(port: int, make_body: Callable[[], bytes], count: AttackCount, stop: threading.Event, pace: float) -> None:
    """Send unsigned requests, each naming a certificate URL never seen before."""
    while not stop.is_set():
        body = make_body()
        headers = {
            "Content-Type": "application/json",
            "SignatureCertChainUrl": f"https://s3.amazonaws.com/echo.api/flood-{uuid.uuid4().hex}.pem",
            "Signature-256": base64.b64encode(random.randbytes(256)).decode(),
        }
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        count.opened()
        try:
            conn.request("POST", "/alexa", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            count.answered(str(response.status))
        except (OSError, http.client.HTTPException) as exc:
            count.answered(f"error:{type(exc).__name__}")
        finally:
            conn.close()
        stop.wait(pace)


# --- the drill -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How long and how hard: the full drill, or a short one for the test suite."""

    seconds: float
    genuine_clients: int = 4
    genuine_pace: float = 0.05
    slow_headers: int = 16
    slow_bodies: int = 16
    flood_clients: int = 64
    flood_pace: float = 0.25
    settle: float = 1.0  # attackers get this long to take hold before genuine traffic is measured


def run_phase(port: int, plan: Plan, attackers: list[threading.Thread], stop: threading.Event,
              make_genuine: Callable[[], tuple[bytes, dict[str, str]]], deadline: float) -> dict[str, Any]:
    """Start the attackers, let them settle, measure genuine traffic for plan.seconds, stop everyone."""
    for thread in attackers:
        thread.start()
    if attackers:
        stop.wait(plan.settle)
    tally = Tally()
    until = min(deadline, time.monotonic() + plan.seconds)
    clients = [threading.Thread(target=genuine_client, args=(port, make_genuine, tally, until, plan.genuine_pace),
                                daemon=True) for _ in range(plan.genuine_clients)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=max(0.0, until - time.monotonic()) + REQUEST_TIMEOUT + 1)
    stop.set()
    for thread in attackers:
        thread.join(timeout=REQUEST_TIMEOUT + 1)
    return tally.summary()


def judge(phases: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each target, its figure and whether it was met."""
    checks: dict[str, dict[str, Any]] = {}
    slow, flood = phases.get("slow"), phases.get("cert-flood")
    if slow is not None:
        target = TARGETS["slow"]
        checks["slow: success rate >= 95%"] = {"figure": slow["success_rate"], "met": slow["success_rate"] >= target["success_rate_min"]}
        checks["slow: p95 < 1000 ms"] = {"figure": slow["p95_ms"], "met": slow["p95_ms"] < target["p95_ms_max"]}
    if flood is not None:
        checks["cert-flood: p50 < 50 ms"] = {"figure": flood["p50_ms"], "met": flood["p50_ms"] < TARGETS["cert-flood"]["p50_ms_max"]}
    return checks


def drill(plan: Plan, *, workers: int, worker_class: str, deadline: float) -> dict[str, Any]:
    """Run every phase against one server and return the report."""
    envelopes = load_envelopes(DEFAULT_FIXTURES)
    skill_id = envelopes[0]["context"]["System"]["application"]["applicationId"]
    stop_host = threading.Event()
    with tempfile.TemporaryDirectory(prefix="bedtime-attack-") as tmp_name:
        tmp = Path(tmp_name)
        signer = make_signer(tmp)
        with cert_host(signer.chain, stop_host) as (cert_base, asked), alexa_api() as (api_endpoint, _):
            env = {
                "BEDTIME_VERIFY_SIGNATURE": "true",
                "BEDTIME_SKILL_ID": skill_id,
                "BEDTIME_CA_BUNDLE": str(signer.bundle),
                "BEDTIME_CERT_FETCH_BASE": cert_base,
                "BEDTIME_PERSISTENCE": "sqlite",
                "BEDTIME_DATA_DIR": str(tmp / "data"),
                "BEDTIME_WORKER_CLASS": worker_class,
                "BEDTIME_LOG_LEVEL": "ERROR",  # thousands of refusals would only fill the log
            }
            counter = iter(range(10**9))

            def genuine() -> tuple[bytes, dict[str, str]]:
                body = fresh_body(envelopes[next(counter) % len(envelopes)], api_endpoint)
                return body, signer.headers(body)

            def unsigned() -> bytes:
                return fresh_body(envelopes[0], api_endpoint)

            with served(env, deadline, workers, tmp) as port:
                # Warm up: every worker fetches and caches the genuine chain before the drill starts.
                warm = Tally()
                threads = [threading.Thread(target=genuine_client, args=(port, genuine, warm, time.monotonic() + 1.5, 0.02))
                           for _ in range(8)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=REQUEST_TIMEOUT + 2)
                phases: dict[str, dict[str, Any]] = {}
                attacks: dict[str, dict[str, Any]] = {}

                phases["baseline"] = run_phase(port, plan, [], threading.Event(), genuine, deadline)

                stop, count = threading.Event(), AttackCount()
                slow = [threading.Thread(target=slow_client, args=(port, "header", count, stop), daemon=True)
                        for _ in range(plan.slow_headers)]
                slow += [threading.Thread(target=slow_client, args=(port, "body", count, stop), daemon=True)
                         for _ in range(plan.slow_bodies)]
                phases["slow"] = run_phase(port, plan, slow, stop, genuine, deadline)
                attacks["slow"] = {"slow_header_clients": plan.slow_headers, "slow_body_clients": plan.slow_bodies,
                                   "connections_opened": count.connections, "answers": count.answers}

                stop, count = threading.Event(), AttackCount()
                flood = [threading.Thread(target=flood_client, args=(port, unsigned, count, stop, plan.flood_pace), daemon=True)
                         for _ in range(plan.flood_clients)]
                before = len(asked)
                phases["cert-flood"] = run_phase(port, plan, flood, stop, genuine, deadline)
                attacks["cert-flood"] = {"clients": plan.flood_clients, "requests": count.connections,
                                         "answers": count.answers, "certificate_fetches": len(asked) - before}
    checks = judge(phases)
    return {
        "server": {"workers": workers, "worker_class": worker_class, "verification": "on"},
        "seconds_per_phase": plan.seconds,
        "genuine_clients": plan.genuine_clients,
        "phases": phases,
        "attacks": attacks,
        "targets": checks,
        "all_met": all(check["met"] for check in checks.values()),
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table for the terminal."""
    lines = [f"{'phase':<12} {'sent':>6} {'ok':>6} {'success':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  attack"]
    for name, phase in report["phases"].items():
        attack = report["attacks"].get(name, {})
        note = ""
        if name == "slow":
            note = f"{attack['slow_header_clients']}+{attack['slow_body_clients']} slow clients, {attack['connections_opened']} connections"
        elif name == "cert-flood":
            note = f"{attack['requests']} unsigned requests, {attack['certificate_fetches']} fetches, answers {attack['answers']}"
        lines.append(f"{name:<12} {phase['sent']:>6} {phase['answered']:>6} {phase['success_rate']:>8.1%} "
                     f"{phase['p50_ms']:>8.1f} {phase['p95_ms']:>8.1f} {phase['p99_ms']:>8.1f}  {note}")
    lines.append("")
    for name, check in report["targets"].items():
        lines.append(f"{'met ' if check['met'] else 'MISSED'}  {name}  ({check['figure']})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m skill_tools.attack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per phase (default 15)")
    parser.add_argument("--quick", action="store_true", help="a short drill: 4 s per phase")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent",
                        help="the server's worker (gthread only to compare with what was there before)")
    parser.add_argument("--json", type=Path, default=DEFAULT_REPORT, help=f"where to write the report (default {DEFAULT_REPORT})")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="hard limit for the whole drill (default 300)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the drill; 0 when every target is met, 1 when one is missed, 2 for a refused setup."""
    args = build_parser().parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    plan = Plan(seconds=4.0 if args.quick else args.seconds)
    try:
        if args.workers < 1 or plan.seconds <= 0:
            raise UsageError("--workers and --seconds must be positive")
        report = drill(plan, workers=args.workers, worker_class=args.worker_class, deadline=deadline)
    except UsageError as exc:
        print(f"attack: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"report: {args.json}")
    return 0 if report["all_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
