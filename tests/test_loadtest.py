"""skill_tools/loadtest.py: it serves, loads, reports and stops by itself, and only ever on loopback.

The main test runs the script as an operator would (`--serve`, a real gunicorn on a free port);
the others drive its `main()` in-process against small real HTTP servers on 127.0.0.1 that
answer badly, refuse, or never answer. No test asserts on how fast anything was.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "skill_tools" / "loadtest.py"
REPORT_FIELDS = {"requests", "seconds", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "statuses"}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loadtest", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["loadtest"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


loadtest = _load_script()


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run the script's main() and return its exit code, its JSON report (if any) and stderr."""
    code = loadtest.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


# --- the real thing: --serve against the skill -----------------------------------------------


def test_serve_runs_a_clean_load_test_and_stops_the_server() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--serve", "-n", "300", "-c", "4", "--max-seconds", "90"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert REPORT_FIELDS <= set(report)
    assert report["requests"] == report["requested"] == 300
    assert report["errors"] == 0 and report["connection_errors"] == 0 and not report["timed_out"]
    assert report["statuses"] == {"200": 300}
    assert 0 < report["p50_ms"] <= report["p90_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["seconds"] > 0 and report["rps"] > 0
    # The server it started is gone: nothing listens on its port any more.
    port = int(report["url"].rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# --- only loopback --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/alexa",
        "http://10.0.0.1:5000/alexa",
        "http://192.168.1.20/alexa",
        "http://[::2]:5000/alexa",
        "http://localhost.example.com/alexa",
        "http://0.0.0.0:5000/alexa",
        "https://127.0.0.1/alexa",
        "ftp://127.0.0.1/alexa",
    ],
)
def test_a_target_off_this_machine_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, report, err = run_main(capsys, "--url", url, "-n", "1")
    assert code == 2 and report is None
    assert err.startswith("loadtest: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://127.0.0.1:5000/alexa", "127.0.0.1", 5000),
        ("http://127.8.9.10/alexa", "127.8.9.10", 80),
        ("http://[::1]:8080/alexa", "::1", 8080),
        ("http://localhost:5000/alexa", "localhost", 5000),
    ],
)
def test_loopback_targets_are_accepted(url: str, host: str, port: int) -> None:
    target = loadtest.parse_target(url)
    assert (target.host, target.port, target.path) == (host, port, "/alexa")


# --- failures are counted, and make the exit code non-zero ---------------------------------


class _Answer503(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error": "busy"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def unhappy_server() -> Iterator[str]:
    """A loopback server that answers every request 503."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer503)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alexa"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_non_200_answers_are_errors(capsys: pytest.CaptureFixture[str], unhappy_server: str) -> None:
    code, report, _ = run_main(capsys, "--url", unhappy_server, "-n", "40", "-c", "3", "--max-seconds", "60")
    assert code == 1 and report is not None
    assert report["requests"] == 40 and report["errors"] == 40 and report["statuses"] == {"503": 40}
    assert report["connection_errors"] == 0


def test_a_refused_connection_is_an_error_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, report, _ = run_main(capsys, "--url", f"http://127.0.0.1:{port}/alexa", "-n", "10", "-c", "2", "--max-seconds", "30")
    assert code == 1 and report is not None
    assert report["requests"] == 10 and report["errors"] == report["connection_errors"] == 10
    assert report["statuses"] == {"error:ConnectionRefusedError": 10}


def test_a_server_that_never_answers_cannot_hold_the_run_past_its_limit(capsys: pytest.CaptureFixture[str]) -> None:
    # The socket listens (so connections open) but never accepts or answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/alexa"
        code, report, _ = run_main(capsys, "--url", url, "-n", "1000", "-c", "2", "--max-seconds", "1")
    assert code == 1 and report is not None
    assert report["timed_out"] and report["requests"] < 1000
    assert report["errors"] == report["requests"]  # each one that was tried timed out


# --- the arithmetic -------------------------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [loadtest.percentile(values, q) for q in (0.5, 0.9, 0.99, 1.0)] == [50.0, 90.0, 99.0, 100.0]
    assert loadtest.percentile([7.0], 0.99) == 7.0
    assert loadtest.percentile([], 0.5) == 0.0


def test_each_request_gets_a_fresh_id_and_the_local_api_stand_in() -> None:
    envelope = json.loads((ROOT / "tests" / "fixtures" / "requests" / "launch.json").read_text(encoding="utf-8"))
    first, second = (json.loads(loadtest.fresh_body(envelope, "http://127.0.0.1:1")) for _ in range(2))
    assert first["request"]["requestId"] != second["request"]["requestId"]
    assert first["context"]["System"]["apiEndpoint"] == "http://127.0.0.1:1"
    assert envelope["context"]["System"]["apiEndpoint"] != "http://127.0.0.1:1"  # the fixture itself is untouched
