"""`bedtime-skill serve` under slow and malformed clients: the real server, on 127.0.0.1, in a subprocess.

The server runs with short deadlines (1 s for headers, 1 s for a body) so each attack is cut
quickly. Every test also sends a genuine request while the attack is under way and needs it
answered: a slow client may cost itself a connection, never anyone else an answer. Waits are
bounded; nothing asserts how long anything took.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from skill.web.server import Gunicorn, Limits, gunicorn_options
from skill.web.worker import BufferedBody
from skill_tools.loadtest import _healthy, _stop, _tail, free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "requests" / "time_to_work_intent.json"


@contextmanager
def serving(tmp: Path, workers: int = 1, **env: str) -> Iterator[tuple[int, Path, subprocess.Popen[bytes]]]:
    """`bedtime-skill serve` on a free loopback port, verification off; stopped with SIGTERM on leaving.

    Yields the port, the file its output goes to and the process (its return code is set once stopped).
    """
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BEDTIME_")} | {
        "PYTHONPATH": str(ROOT),
        "BEDTIME_VERIFY_SIGNATURE": "false",
        "BEDTIME_DATA_DIR": str(tmp / "data"),
        "BEDTIME_ALEXA_API": "false",
    } | env
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "skill_tools.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        for _ in range(300):
            if _healthy(port):
                break
            assert process.poll() is None, _tail(log_path)
            time.sleep(0.1)
        else:
            pytest.fail(f"the server did not come up:\n{_tail(log_path)}")
        yield port, log_path, process
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serving(tmp_path_factory.mktemp("serve"), BEDTIME_PERSISTENCE="sqlite", BEDTIME_HEADER_TIMEOUT="1",
                 BEDTIME_BODY_TIMEOUT="1") as (port, _, _):
        yield port


def genuine(port: int) -> tuple[int, dict[str, Any]]:
    """One ordinary request, as Alexa would send it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/alexa", body=FIXTURE.read_bytes(), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def read_until_closed(sock: socket.socket, limit_seconds: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (bounded: a server that never closes fails the test)."""
    sock.settimeout(limit_seconds)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_a_client_that_never_finishes_its_headers_is_cut_and_others_are_answered(server: int) -> None:
    holders = []
    for _ in range(8):
        sock = socket.create_connection(("127.0.0.1", server))
        sock.sendall(b"POST /alexa HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        holders.append(sock)
    try:
        status, answer = genuine(server)
        assert status == 200 and "response" in answer
        # Past the header deadline the server closes each held connection without an answer.
        assert [read_until_closed(sock) for sock in holders] == [b""] * 8
    finally:
        for sock in holders:
            sock.close()


def test_a_client_that_drips_its_body_gets_408_and_others_are_answered(server: int) -> None:
    sock = socket.create_connection(("127.0.0.1", server))
    try:
        sock.sendall(b"POST /alexa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
        sock.sendall(b" ")  # trickling; the deadline is on the whole body, however often a byte comes
        status, _ = genuine(server)
        assert status == 200
        raw = read_until_closed(sock)
    finally:
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body) == {"error": "request timeout"}


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(server: int) -> None:
    sock = socket.create_connection(("127.0.0.1", server))
    try:
        sock.sendall(b"POST /alexa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n")
        raw = read_until_closed(sock)
    finally:
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body) == {"error": "request entity too large"}


def test_a_malformed_request_line_gets_an_error_not_a_hang(server: int) -> None:
    sock = socket.create_connection(("127.0.0.1", server))
    try:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        raw = read_until_closed(sock)
    finally:
        sock.close()
    assert raw.startswith(b"HTTP/1.1 400")
    assert genuine(server)[0] == 200


# --- the pieces, in-process --------------------------------------------------------------------


def test_the_buffered_body_hands_the_app_the_whole_body_even_when_chunked() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    middleware = BufferedBody(app, Limits(header_timeout=1, body_timeout=1, max_body_bytes=1024))
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b'{"a": 1}')}
    middleware(environ, lambda status, headers: statuses.append(status))
    too_big = {"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"x" * 2000)}
    middleware(too_big, lambda status, headers: statuses.append(status))
    assert seen == [b'{"a": 1}']
    assert statuses == ["200 OK", "413 Request Entity Too Large"]


def test_the_benchmarks_options_still_build_a_gunicorn_app_with_the_deadline_worker() -> None:
    app = Gunicorn(lambda: None, gunicorn_options("127.0.0.1", 8000, 2, 4))
    assert app.cfg.worker_class_str == "skill.web.worker.DeadlineWorker"
    assert app.cfg.worker_connections == 10_000 and app.cfg.keepalive >= 1
    assert app.limits == Limits()
    legacy = Gunicorn(lambda: None, gunicorn_options("127.0.0.1", 8000, 2, 4, worker_class="gthread", header_timeout=2))
    assert legacy.cfg.worker_class_str == "gthread" and legacy.limits.header_timeout == 2


def test_a_worker_freezes_what_its_app_holds_so_the_collector_stops_walking_it() -> None:
    import gc

    built: list[list[dict[str, int]]] = []

    def factory() -> object:
        built.append([{"content": n} for n in range(1000)])  # long-lived, like the skill's content
        return built[-1]

    gc.unfreeze()
    try:
        app = Gunicorn(factory, gunicorn_options("127.0.0.1", 0)).load()
        assert app is built[0]
        walked = {id(o) for o in gc.get_objects()}  # what a full collection would walk
        assert id(app) not in walked and id(built[0][0]) not in walked
        later = [{"made": "by a request"}]
        assert id(later) in {id(o) for o in gc.get_objects()}  # what requests leave behind is still collected
    finally:
        gc.unfreeze()  # give the test process its generations back



def test_a_clean_stop_prints_no_traceback(tmp_path: Path) -> None:
    """#23 item 9: SIGTERM (gunicorn's graceful stop) used to print two "Exception ignored" tracebacks per stop,
    logging's handler cleanup reaching gevent's threading after gevent had gone."""
    with serving(tmp_path, workers=2, BEDTIME_PERSISTENCE="none", BEDTIME_LOG_LEVEL="INFO") as (_, log_path, process):
        pass
    printed = log_path.read_text(encoding="utf-8", errors="replace")
    assert process.returncode == 0, printed[-2000:]
    assert "serving http://127.0.0.1" in printed
    assert "Traceback" not in printed and "Exception ignored" not in printed, printed[-2000:]


def _fit_in_child(soft: int, hard: int, connections: int) -> tuple[int, int, str]:
    """Run fit_open_files in a child started with these open-file limits; its cap, new soft limit and stderr."""
    import resource

    code = ("import logging, resource; logging.basicConfig(); from skill.web.server import fit_open_files; "
            f"cap = fit_open_files({connections}); print(cap, resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    assert done.returncode == 0, done.stderr
    cap, limit = done.stdout.split()
    return int(cap), int(limit), done.stderr


def test_serve_raises_a_low_open_file_limit_so_a_worker_can_hold_its_whole_cap() -> None:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 5_256:
        pytest.skip(f"this machine's hard open-file limit ({hard}) is below the case")
    # Many systems start processes with 1,024; a worker needs its cap plus a few spare descriptors.
    cap, limit, warned = _fit_in_child(1024, 5_256, 5_000)
    assert (cap, limit) == (5_000, 5_256) and "open-file limit" not in warned


def test_a_hard_limit_below_the_cap_lowers_the_cap_and_says_so() -> None:
    cap, limit, warned = _fit_in_child(1024, 2_000, 10_000)
    assert (cap, limit) == (2_000 - 256, 2_000)
    assert "open-file limit (2000) holds 1744 connections a worker, not BEDTIME_MAX_CONNECTIONS=10000" in warned
