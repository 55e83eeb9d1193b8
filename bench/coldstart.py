"""Section 3: a fresh Python process imports the Lambda entry and answers its first request.

The child notes `perf_counter()` as its very first statement and reports import time, first-answer
time, the CPU time of both (less blurred than wall time when the machine is busy), peak memory
(VmHWM) and every top-level module it loaded; the parent times the whole process from spawn to
exit. The same is done for the hello skill. Two bytecode settings are measured:

- cached: .pyc files are kept (in a private PYTHONPYCACHEPREFIX), as a zip that ships them would be;
  one unmeasured run fills the cache first.
- source: nothing cached, every module compiled at import, as a zip without .pyc files runs on
  Lambda (whose code directory is read-only, so the compiled code is never kept).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import FIXTURES, LAMBDA_DIR, ROOT
from bench.measure import ratio

CHILD_TIMEOUT = 60.0
ENTRIES = ("skill", "hello")
# Modules the Lambda path must never load (tests/test_lambda_imports.py holds the full list).
FORBIDDEN = ("pydantic", "pydantic_core", "pydantic_settings", "boto3", "botocore", "flask", "werkzeug", "gunicorn",
             "cryptography", "skill_tools")

# Runs in the child; argv: <entry: skill|hello> <repo root> <lambda dir> <request fixture>.
CHILD = r"""
import time
_t0 = time.perf_counter()
_c0 = time.process_time()
import json, sys
entry, root, lambda_dir, fixture = sys.argv[1:5]
sys.path[:0] = [lambda_dir, root]
if entry == "skill":
    import lambda_function as module
else:
    import bench.hello as module
_t1 = time.perf_counter()
answer = module.lambda_handler(json.load(open(fixture)), None)
_t2 = time.perf_counter()
_c2 = time.process_time()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({
    "import_ms": (_t1 - _t0) * 1000,
    "first_answer_ms": (_t2 - _t1) * 1000,
    "import_and_answer_ms": (_t2 - _t0) * 1000,
    "cpu_ms": (_c2 - _c0) * 1000,
    "peak_rss_kb": int(status["VmHWM"].split()[0]),
    "speech": bool(answer.get("response", {}).get("outputSpeech")),
    "modules": loaded,
    "module_count": len(sys.modules),
}))
"""


@dataclass(frozen=True)
class Options:
    runs: int = 5
    source_runs: int = 3  # the no-bytecode-cache runs (0 skips them)


class ColdStartError(RuntimeError):
    """A child process failed; the message carries its stderr."""


def child_env(data_dir: Path, pycache: Path, keep_bytecode: bool) -> dict[str, str]:
    """A clean environment: settings for an offline Lambda, and where bytecode goes (or not)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEDTIME_", "PYTHON"))}
    env |= {
        "BEDTIME_DATA_DIR": str(data_dir),
        "BEDTIME_ALEXA_API": "false",  # the launch answer needs no API; this makes sure none is tried
        "PYTHONPYCACHEPREFIX": str(pycache),
    }
    if not keep_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def spawn(
    entry: str, env: dict[str, str], cwd: Path, extra_flags: list[str] | None = None
) -> tuple[dict[str, Any], float, str]:
    """Run one child; return its report, the parent's wall time in ms, and its stderr."""
    argv = [sys.executable, *(extra_flags or []), "-c", CHILD,
            entry, str(ROOT), str(LAMBDA_DIR), str(FIXTURES / "launch.json")]
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ColdStartError(f"{entry} cold start did not finish within {CHILD_TIMEOUT:.0f}s") from None
    wall_ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0 or not done.stdout.strip():
        raise ColdStartError(f"{entry} cold start failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not report["speech"]:
        raise ColdStartError(f"{entry} cold start answered launch without speech")
    report["wall_ms"] = wall_ms
    return report, wall_ms, done.stderr


def summarise(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over one entry's runs, and the third-party packages it loaded."""

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in reports), 1)

    own = {"skill", "bench", "lambda_function"}
    loaded = reports[-1]["modules"]
    return {
        "runs": len(reports),
        "import_ms": median("import_ms"),
        "first_answer_ms": median("first_answer_ms"),
        "import_and_answer_ms": median("import_and_answer_ms"),
        "cpu_ms": median("cpu_ms"),
        "wall_ms": median("wall_ms"),
        "peak_rss_kb": int(median("peak_rss_kb")),
        "module_count": reports[-1]["module_count"],
        # The child runs this same interpreter, so its standard library is ours.
        "third_party": [m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_") and m not in own],
    }


def measure(runs: int, keep_bytecode: bool, tmp: Path) -> dict[str, dict[str, Any]]:
    """Both entries, `runs` fresh processes each, taking turns so machine noise falls on both."""
    mode = "cached" if keep_bytecode else "source"
    envs = {entry: child_env(tmp / f"data-{entry}", tmp / f"pycache-{entry}-{mode}", keep_bytecode) for entry in ENTRIES}
    if keep_bytecode:
        for entry in ENTRIES:
            spawn(entry, envs[entry], tmp)  # unmeasured: fills the bytecode cache
    reports: dict[str, list[dict[str, Any]]] = {entry: [] for entry in ENTRIES}
    for _ in range(runs):
        for entry in ENTRIES:
            reports[entry].append(spawn(entry, envs[entry], tmp)[0])
    return {entry: summarise(reports[entry]) for entry in ENTRIES}


def run(options: Options) -> dict[str, Any]:
    """Cold start of the Lambda entry and of hello, side by side, and what the Lambda path imported."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp_name:
        tmp = Path(tmp_name)
        cached = measure(options.runs, True, tmp)
        source = measure(options.source_runs, False, tmp) if options.source_runs else {}
    skill, hello = cached["skill"], cached["hello"]
    result: dict[str, Any] = {
        "cached": cached,
        "ratios": {
            "import_and_answer": round(ratio(skill["import_and_answer_ms"], hello["import_and_answer_ms"]), 2),
            "wall": round(ratio(skill["wall_ms"], hello["wall_ms"]), 2),
            "peak_rss": round(ratio(skill["peak_rss_kb"], hello["peak_rss_kb"]), 2),
            "cpu": round(ratio(skill["cpu_ms"], hello["cpu_ms"]), 2),
        },
        "forbidden_loaded": [m for m in FORBIDDEN if m in skill["third_party"]],
    }
    if source:
        result["source"] = source
        result["ratios"]["source_import_and_answer"] = round(
            ratio(source["skill"]["import_and_answer_ms"], source["hello"]["import_and_answer_ms"]), 2
        )
    return result


@dataclass(frozen=True)
class ImportRow:
    """One line of `python -X importtime`: a module, its own time, its time with what it imported."""

    name: str
    depth: int
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> list[ImportRow]:
    """Read `-X importtime` lines; nesting is two spaces per level after the second bar."""
    rows: list[ImportRow] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.removeprefix("import time:").split("|", 2)
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        raw = parts[2].rstrip()
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        rows.append(ImportRow(raw.strip(), depth, int(parts[0]), int(parts[1])))
    return rows


def import_times(top: int = 20) -> dict[str, Any]:
    """`python -X importtime` of the Lambda entry, summarised three ways (all in ms).

    - total: every top-level import, the interpreter's own start-up included;
    - by_package: own import time summed per top-level package (where the time really goes);
    - biggest: single imports below the entry, with everything under them, and their importer.
    """
    with tempfile.TemporaryDirectory(prefix="bench-importtime-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(tmp / "data", tmp / "pycache", keep_bytecode=True)
        spawn("skill", env, tmp)  # fill the bytecode cache, so compile time does not blur the picture
        _, _, stderr = spawn("skill", env, tmp, ["-X", "importtime"])
    rows = parse_importtime(stderr)
    by_package: dict[str, int] = {}
    for row in rows:
        package = row.name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + row.self_us
    entry = next((i for i, row in enumerate(rows) if row.name == "lambda_function" and row.depth == 0), None)
    # A module's importer is printed after it, as the first later line with a smaller depth.
    biggest: list[tuple[str, float, str]] = []
    for i, row in enumerate(rows):
        if row.depth < 2:
            continue  # lambda_function and skill.builder contain everything; they say nothing
        parent = next((later.name for later in rows[i + 1:] if later.depth < row.depth), "?")
        biggest.append((row.name, round(row.cumulative_us / 1000, 1), parent))
    biggest.sort(key=lambda item: -item[1])
    return {
        "total_ms": round(sum(r.cumulative_us for r in rows if r.depth == 0) / 1000, 1),
        "lambda_function_ms": round(rows[entry].cumulative_us / 1000, 1) if entry is not None else 0.0,
        "lambda_function_self_ms": round(rows[entry].self_us / 1000, 1) if entry is not None else 0.0,
        "by_package": [
            (name, round(us / 1000, 1)) for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
        ],
        "biggest": biggest[:top],
    }
