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
    connections   + 5,000 clients sending headers a byte at a time (one thread drives them all and
                    reconnects each one the server cuts), past the old cap of 1,000 a worker
    sqlite-lock   + another process holding the store's write lock (BEGIN IMMEDIATE); the genuine
                    requests are questions that write nothing, and a second client's turns write
    flood-at-start  a second server started while the fresh-URL flood is already on, with its
                    certificate URL pinned (BEDTIME_CERT_URLS); genuine requests from its first moment

For each phase it reports the genuine requests' success rate (HTTP 200) and p50/p95/p99 latency
(a failed request counts with the time it took to fail), prints a table, writes JSON, and checks
the targets: slow >= 95% answered with p95 < 1 s; cert-flood p50 < 50 ms; connections and
flood-at-start 100% answered with p95 < 1 s; sqlite-lock p99 < 50 ms, and every writing turn
answered (calmly, "couldn't save") within 2.5 s. Exit 0 when all are met, 1 when not, 2 for a
refused setup. Everything is bounded by --max-seconds.

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
import selectors
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from skill.web.server import fit_open_files
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
    "connections": {"success_rate_min": 1.0, "p95_ms_max": 1000.0},
    "sqlite-lock": {"success_rate_min": 1.0, "p99_ms_max": 50.0, "writer_max_ms": 2500.0},
    "flood-at-start": {"success_rate_min": 1.0, "p95_ms_max": 1000.0},
}
# Questions that store nothing: under a held lock they must not wait for it.
READ_ONLY_FIXTURES = ("why_magnesium_intent", "timing_intent", "form_info_intent_glycinate", "sleep_facts_intent")
# A turn that stores a preference: under a held lock it waits its bounded time, then says it couldn't save.
WRITING_FIXTURE = "set_preference_intent"
UNSAVED_WORDS = "couldn't save"
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
def served(env_extra: dict[str, str], deadline: float, workers: int, log_dir: Path, port: int | None = None) -> Iterator[int]:
    """Run `bedtime-skill serve` (verification on) on a loopback port (a free one by default); yield the port."""
    port = port or free_port()
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
                   until: float, pace: float, fresh: bool = False) -> None:
    """One keep-alive client sending a signed request every `pace` seconds until `until`.

    `fresh` opens a new connection for every request, so each one waits its turn to be accepted.
    """
    conn: http.client.HTTPConnection | None = None
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            body, headers = make_body()
            if conn is not None and fresh:
                conn.close()
                conn = None
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


def many_slow_clients(port: int, clients: int, count: AttackCount, stop: threading.Event,
                      held: list[int]) -> None:
    """Hold `clients` connections from one thread, each dripping its headers; reopen any the server cuts.

    `held` gets how many were open at each round of drips, to report how many the attack kept.
    """
    head = b"POST /alexa HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: "
    selector = selectors.DefaultSelector()
    open_socks: set[socket.socket] = set()

    def connect() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
            sock.sendall(head)
            sock.setblocking(False)
        except OSError:
            return
        count.opened()
        open_socks.add(sock)
        selector.register(sock, selectors.EVENT_READ)

    def drop(sock: socket.socket) -> None:
        open_socks.discard(sock)
        selector.unregister(sock)
        sock.close()

    try:
        while not stop.is_set():
            for _ in range(clients - len(open_socks)):  # every one the server cut comes straight back
                connect()
            for key, _ in selector.select(timeout=0):
                drop(key.fileobj)  # type: ignore[arg-type]  # readable: the server cut it (or answered)
            for sock in list(open_socks):
                try:
                    sock.send(b"a")
                except OSError:
                    drop(sock)
            held.append(len(open_socks))
            stop.wait(DRIP_GAP * 5)
    finally:
        for sock in list(open_socks):
            drop(sock)
        selector.close()


def lock_holder(db_path: Path, stop: threading.Event, holding: threading.Event) -> None:
    """Another process's writer, stuck: take the store's write lock and keep it until `stop`."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN IMMEDIATE")
        holding.set()
        stop.wait()
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def writing_client(port: int, make_body: Callable[[], tuple[bytes, dict[str, str]]], until: float,
                   seen: list[tuple[float, int, bool]]) -> None:
    """Send turns that store something, one at a time; note each one's time, status and calm "couldn't save"."""
    while time.monotonic() < until:
        started = time.monotonic()
        body, headers = make_body()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("POST", "/alexa", body=body, headers={"Content-Type": "application/json", **headers})
            response = conn.getresponse()
            answer = response.read()
            seen.append(((time.monotonic() - started) * 1000, response.status, UNSAVED_WORDS.encode() in answer))
        except (OSError, http.client.HTTPException):
            seen.append(((time.monotonic() - started) * 1000, 0, False))
        finally:
            conn.close()


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
        try:
            conn.connect()
        except OSError:
            stop.wait(0.05)  # not listening yet: the flood waits for the server to start
            continue
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
    many_slow: int = 5000
    settle: float = 1.0  # attackers get this long to take hold before genuine traffic is measured
    writers: int = 4  # clients whose turns write under the held lock, so every worker has one waiting
    writer_seconds: float = 6.0  # how long each writing client keeps trying under the held lock


def run_phase(port: int, plan: Plan, attackers: list[threading.Thread], stop: threading.Event,
              make_genuine: Callable[[], tuple[bytes, dict[str, str]]], deadline: float,
              fresh: bool = False) -> dict[str, Any]:
    """Start the attackers, let them settle, measure genuine traffic for plan.seconds, stop everyone."""
    for thread in attackers:
        thread.start()
    if attackers:
        stop.wait(plan.settle)
    tally = Tally()
    until = min(deadline, time.monotonic() + plan.seconds)
    clients = [threading.Thread(target=genuine_client, args=(port, make_genuine, tally, until, plan.genuine_pace, fresh),
                                daemon=True) for _ in range(plan.genuine_clients)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=max(0.0, until - time.monotonic()) + REQUEST_TIMEOUT + 1)
    stop.set()
    for thread in attackers:
        thread.join(timeout=REQUEST_TIMEOUT + 1)
    return tally.summary()


def judge(phases: dict[str, dict[str, Any]], attacks: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Each target, its figure and whether it was met."""
    checks: dict[str, dict[str, Any]] = {}
    for name, target in TARGETS.items():
        phase = phases.get(name)
        if phase is None:
            continue
        if "success_rate_min" in target:
            floor = target["success_rate_min"]
            checks[f"{name}: success rate >= {floor:.0%}"] = {"figure": phase["success_rate"], "met": phase["success_rate"] >= floor}
        if "p95_ms_max" in target:
            bound = target["p95_ms_max"]
            checks[f"{name}: p95 < {bound:.0f} ms"] = {"figure": phase["p95_ms"], "met": phase["p95_ms"] < bound}
        if "p99_ms_max" in target:
            bound = target["p99_ms_max"]
            checks[f"{name}: p99 < {bound:.0f} ms"] = {"figure": phase["p99_ms"], "met": phase["p99_ms"] < bound}
        if "p50_ms_max" in target:
            bound = target["p50_ms_max"]
            checks[f"{name}: p50 < {bound:.0f} ms"] = {"figure": phase["p50_ms"], "met": phase["p50_ms"] < bound}
    writer = (attacks or {}).get("sqlite-lock", {}).get("writer")
    if writer is not None:
        bound = TARGETS["sqlite-lock"]["writer_max_ms"]
        calm = writer["turns"] > 0 and writer["answered_calmly"] == writer["turns"]
        checks[f"sqlite-lock: every writing turn says it couldn't save, within {bound:.0f} ms"] = {
            "figure": f"{writer['answered_calmly']}/{writer['turns']}, max {writer['max_ms']} ms",
            "met": calm and writer["max_ms"] < bound,
        }
    return checks


def by_name(folder: Path, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The named sample envelopes, in order; UsageError for one that is missing."""
    found = []
    for name in names:
        path = folder / f"{name}.json"
        if not path.is_file():
            raise UsageError(f"no fixture {path}")
        found.append(json.loads(path.read_text(encoding="utf-8")))
    return found


def changed(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with a new amount in its `amount` slot, so that its turn has something new to store.

    Never the fixture's own amount (300), which the warm-up stored: the same amount again stores nothing.
    """
    amount = str(random.choice(range(100, 300, 10)))
    copy = json.loads(json.dumps(envelope))
    slot = copy["request"]["intent"]["slots"]["amount"]
    slot["value"] = amount
    slot.setdefault("slotValue", {})["value"] = amount
    return copy  # type: ignore[no-any-return]


def warm_up(port: int, genuine: Callable[[], tuple[bytes, dict[str, str]]]) -> None:
    """Every worker answers a few genuine requests (and caches the chain) before anything is measured."""
    warm = Tally()
    threads = [threading.Thread(target=genuine_client, args=(port, genuine, warm, time.monotonic() + 1.5, 0.02))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 2)


def drill(plan: Plan, *, workers: int, worker_class: str, deadline: float) -> dict[str, Any]:
    """Run every phase against one server, then the flood-at-start against a second; return the report."""
    envelopes = load_envelopes(DEFAULT_FIXTURES)
    questions = by_name(DEFAULT_FIXTURES, READ_ONLY_FIXTURES)
    [writing] = by_name(DEFAULT_FIXTURES, (WRITING_FIXTURE,))
    skill_id = envelopes[0]["context"]["System"]["application"]["applicationId"]
    fit_open_files(plan.many_slow)  # the crowd's sockets, plus the server's spare for everything else
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

            def signed(envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
                body = fresh_body(envelope, api_endpoint)
                return body, signer.headers(body)

            def genuine() -> tuple[bytes, dict[str, str]]:
                return signed(envelopes[next(counter) % len(envelopes)])

            def question() -> tuple[bytes, dict[str, str]]:
                return signed(questions[next(counter) % len(questions)])

            def unsigned() -> bytes:
                return fresh_body(envelopes[0], api_endpoint)

            phases: dict[str, dict[str, Any]] = {}
            attacks: dict[str, dict[str, Any]] = {}
            with served(env, deadline, workers, tmp) as port:
                warm_up(port, genuine)
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

                stop, count = threading.Event(), AttackCount()
                held: list[int] = []
                crowd = threading.Thread(target=many_slow_clients, args=(port, plan.many_slow, count, stop, held), daemon=True)
                # Genuine traffic is measured once the whole crowd has connected, each request on a new
                # connection (as after a keep-alive closes): it must be accepted past the crowd.
                phases["connections"] = run_phase(port, replace(plan, settle=plan.settle + 2.0), [crowd], stop, genuine,
                                                  deadline, fresh=True)
                attacks["connections"] = {"clients": plan.many_slow, "connections_opened": count.connections,
                                          "most_held_at_once": max(held, default=0)}

                # The lock is kept until every writing turn has ended, so each one met it.
                stop, holding, release = threading.Event(), threading.Event(), threading.Event()
                holder = threading.Thread(target=lock_holder, args=(tmp / "data" / "bedtime.sqlite3", release, holding), daemon=True)
                holder.start()
                if not holding.wait(REQUEST_TIMEOUT):
                    raise UsageError("could not take the store's write lock for the sqlite-lock drill")
                seen: list[tuple[float, int, bool]] = []
                writers = [threading.Thread(target=writing_client, args=(port, lambda: signed(changed(writing)),
                                            time.monotonic() + plan.writer_seconds, seen), daemon=True)
                           for _ in range(plan.writers)]
                phases["sqlite-lock"] = run_phase(port, plan, writers, stop, question, deadline)
                for thread in writers:
                    thread.join(timeout=REQUEST_TIMEOUT)
                release.set()
                holder.join(timeout=REQUEST_TIMEOUT)
                attacks["sqlite-lock"] = {"writer": {
                    "turns": len(seen),
                    "answered_calmly": sum(1 for _, status, calm in seen if status == 200 and calm),
                    "max_ms": round(max((ms for ms, _, _ in seen), default=0.0), 1),
                }}

            # A second server, started while the flood is already on: its first requests meet the flood.
            stop, count = threading.Event(), AttackCount()
            port = free_port()
            flood = [threading.Thread(target=flood_client, args=(port, unsigned, count, stop, plan.flood_pace), daemon=True)
                     for _ in range(plan.flood_clients)]
            for thread in flood:
                thread.start()
            before = len(asked)
            fresh = tmp / "second"
            fresh.mkdir()
            with served(env | {"BEDTIME_CERT_URLS": CERT_URL, "BEDTIME_DATA_DIR": str(fresh / "data")},
                        deadline, workers, fresh, port=port) as port:
                phases["flood-at-start"] = run_phase(port, plan, [], threading.Event(), genuine, deadline)
            stop.set()
            for thread in flood:
                thread.join(timeout=REQUEST_TIMEOUT + 1)
            attacks["flood-at-start"] = {"clients": plan.flood_clients, "requests": count.connections,
                                         "answers": count.answers, "certificate_fetches": len(asked) - before}
    checks = judge(phases, attacks)
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
    lines = [f"{'phase':<15} {'sent':>6} {'ok':>6} {'success':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  attack"]
    for name, phase in report["phases"].items():
        attack = report["attacks"].get(name, {})
        note = ""
        if name == "slow":
            note = f"{attack['slow_header_clients']}+{attack['slow_body_clients']} slow clients, {attack['connections_opened']} connections"
        elif name in ("cert-flood", "flood-at-start"):
            note = f"{attack['requests']} unsigned requests, {attack['certificate_fetches']} fetches, answers {attack['answers']}"
        elif name == "connections":
            note = f"{attack['clients']} slow clients, {attack['most_held_at_once']} held at once, {attack['connections_opened']} connections"
        elif name == "sqlite-lock":
            writer = attack["writer"]
            note = f"lock held; {writer['answered_calmly']}/{writer['turns']} writing turns said they couldn't save, max {writer['max_ms']} ms"
        lines.append(f"{name:<15} {phase['sent']:>6} {phase['answered']:>6} {phase['success_rate']:>8.1%} "
                     f"{phase['p50_ms']:>8.1f} {phase['p95_ms']:>8.1f} {phase['p99_ms']:>8.1f}  {note}")
    lines.append("")
    for name, check in report["targets"].items():
        lines.append(f"{'met ' if check['met'] else 'MISSED'}  {name}  ({check['figure']})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m skill_tools.attack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per phase (default 15)")
    parser.add_argument("--quick", action="store_true", help="a short drill: 2 s per phase, 800 slow clients, not 5,000")
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
    plan = Plan(seconds=2.0, many_slow=800, writers=2, writer_seconds=2.0) if args.quick else Plan(seconds=args.seconds)
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
