"""`make bench` still runs: quick passes of its sections, read back as JSON.

Nothing here asserts a time or a target; only that the benchmark ran, measured real answers and
wrote what the lead's tooling reads.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cases, coldstart
from bench.coldstart import parse_importtime
from bench.measure import percentile

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_a_quick_run_writes_every_figure_with_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "bench.json"
    done = run_bench("--quick", "--only", "inproc,sim", "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))

    assert set(results) >= {"meta", "inproc", "sim", "targets"}
    assert "http" not in results and "cold" not in results
    assert results["meta"]["quick"] is True and results["meta"]["sections"] == ["inproc", "sim"]

    inproc = results["inproc"]
    assert list(inproc["cases"]) == list(cases.CASE_ORDER)
    for name, case in inproc["cases"].items():
        assert case["skill_us"] > 0 and case["hello_us"] > 0 and case["ratio"] > 0, name
    assert inproc["mean"]["ratio"] > 0 and inproc["n"] > 0 and inproc["repeats"] > 0
    assert inproc["errors"] == 0  # every case reached its handler, none fell into the error handler

    sim = results["sim"]
    assert sim["utterances"] > 0 and sim["per_second"] > 0 and sim["compile_ms"] > 0
    assert 0 < sim["own_intent"] <= sim["utterances"]

    names = {mark["name"] for mark in results["targets"]}
    assert {"in-process mean x hello", "zero errors"} <= names
    assert all(isinstance(mark["pass"], bool) for mark in results["targets"])

    # The readable table goes to stdout, with each case beside its baseline.
    assert "skill µs" in done.stdout and "hello µs" in done.stdout and "routine_next" in done.stdout


def test_an_unknown_section_is_refused_in_one_line() -> None:
    done = run_bench("--only", "inproc,warp")
    assert done.returncode == 2
    assert "choose from inproc,http,cold,sim" in done.stderr
    assert "Traceback" not in done.stderr


def test_importtime_lines_are_read_with_their_nesting() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |     pydantic_core\n"
        "import time:       300 |        420 |   pydantic\n"
        "import time:      1000 |       1420 | lambda_function\n"
        "something else on stderr\n"
    )
    rows = parse_importtime(stderr)
    assert [(r.name, r.depth, r.self_us, r.cumulative_us) for r in rows] == [
        ("pydantic_core", 2, 120, 120),
        ("pydantic", 1, 300, 420),
        ("lambda_function", 0, 1000, 1420),
    ]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0


def test_the_http_section_drives_a_real_server_from_its_own_client_process(tmp_path: Path) -> None:
    """The bare Flask baseline under gunicorn on loopback, loaded by bench/loadclient.py in its own process."""
    from bench import http

    options = http.Options(requests=40, rounds=2, clients=2, workers=1)
    argv, env = http.server_commands(options, tmp_path)["echo"]
    with http.running("echo", argv, env, tmp_path) as server:
        rounds = http.drive({"echo": server.port}, [cases.body(cases.set_bedtime())], options,
                            {"echo": server.process.pid})["echo"]
    assert len(rounds) == 2
    for one in rounds:
        assert one["requests"] == 40 and one["errors"] == 0 and one["statuses"] == {"200": 40}
        assert one["cpu_ms"] is not None and one["cpu_ms"] >= 0  # read from the server's /proc entries
    # The master only waits; the work shows because its worker's time is counted (80 answers: several ticks).
    assert sum(one["cpu_ms"] for one in rounds) > 0
    summary = http.median_summary(rounds)
    assert summary["requests"] == 80 and summary["errors"] == 0
    assert summary["cpu_ms_per_request"] is not None and summary["p99_over_p50"] >= 1


def test_cpu_per_request_adds_up_the_rounds_and_admits_when_it_could_not_read() -> None:
    from bench.http import cpu_per_request

    rounds = [{"requests": 100, "errors": 0, "cpu_ms": 150.0}, {"requests": 100, "errors": 20, "cpu_ms": 90.0}]
    assert cpu_per_request(rounds) == round(240 / 180, 3)
    assert cpu_per_request([{"requests": 100, "errors": 0, "cpu_ms": None}]) is None



def test_the_cold_start_baseline_is_the_canonical_hello_importing_nothing_but_ask_sdk() -> None:
    source = (ROOT / "bench" / "canonical" / "lambda_function.py").read_text()
    tree = ast.parse(source)
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name.split(".")[0] for name in imported} <= {"__future__", "ask_sdk_core", "ask_sdk_model"}
    assert "lambda_handler = sb.lambda_handler()" in source and "sb = SkillBuilder()" in source


def test_a_quick_cold_run_sets_the_zip_beside_the_canonical_hello_with_and_without_bytecode(tmp_path: Path) -> None:
    build = coldstart.load_build()
    if build.find_python(build.target_from().python_version) is None:
        pytest.skip("no Python 3.13 here to run the Lambda zip with")
    out = tmp_path / "bench.json"
    done = run_bench("--quick", "--only", "cold", "--out", str(out))
    assert done.returncode == 0, done.stderr
    cold = json.loads(out.read_text(encoding="utf-8"))["cold"]

    assert cold["python"] == "3.13"
    for mode in ("bytecode", "source", "snapstart"):
        assert set(cold[mode]) == {"skill", "hello"}, mode
        assert all(entry["import_and_answer_ms"] > 0 for entry in cold[mode].values())
    # The skill registers its two hooks; after them its first answer loads nothing new. Hello has none.
    assert cold["snapstart"]["skill"]["hooks"] == 2 and cold["snapstart"]["skill"]["loaded_by_first_answer"] == 0
    assert cold["snapstart"]["hello"]["hooks"] == 0 and cold["snapstart"]["hello"]["loaded_by_first_answer"] > 0
    assert {"import_and_answer", "source_import_and_answer", "restored_first_answer", "peak_rss"} <= set(cold["ratios"])
    assert cold["forbidden_loaded"] == []
    assert "skill (no .pyc, -B)" in done.stdout and "hello (with .pyc)" in done.stdout
