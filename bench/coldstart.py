"""Section 3: Lambda's cold start as the deployed zip has it, beside the canonical ask-sdk hello.

The zip is built as `make lambda-zip` builds it (scripts/build_lambda_zip.py), for the runtime's
Python and this machine's architecture, and unpacked as Lambda unpacks it into /var/task. Every
child is the runtime's Python started bare (-I -S: no site-packages, no PYTHON* variables) with
nothing on its path but the entry's folder and the unpacked zip: the skill's lambda_function, or
the canonical hello (bench/canonical/lambda_function.py: `SkillBuilder().lambda_handler()`,
importing nothing but ask-sdk) beside the same dependencies. The child notes `perf_counter()` as
its very first statement and reports import time, first-answer time, their CPU time, peak memory
(VmHWM) and the modules it loaded; the parent times the whole process from spawn to exit.

Three settings, the entries taking turns in each so the machine's other work falls on both:

- bytecode: the .pyc files the zip ships (hello's one module compiled the same way);
- source: every __pycache__ removed and -B, so each import compiles its module, as a zip without
  bytecode runs on Lambda (whose code folder is read-only, so nothing compiled is ever kept);
- snapstart: bytecode, then the SnapStart hooks the entry registers (a stand-in for the runtime's
  snapshot_restore_py), then the first answer, timed alone: what a container restored from a
  snapshot still does in Python. Hello registers none, so its first answer is its plain one.

The standard library's own bytecode, which the Lambda runtime has too, is used in all three.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import FIXTURES, ROOT
from bench.measure import ratio

CHILD_TIMEOUT = 60.0
CANONICAL_HELLO = Path(__file__).resolve().parent / "canonical" / "lambda_function.py"
ENTRIES = ("skill", "hello")
# Modules the Lambda path must never load (tests/test_lambda_imports.py holds the full list).
FORBIDDEN = ("pydantic", "pydantic_core", "pydantic_settings", "boto3", "botocore", "flask", "werkzeug", "gunicorn",
             "cryptography", "skill_tools")

# Runs in the child; argv: <entry folder> <unpacked zip> <request fixture> <1: play SnapStart's hooks>.
CHILD = r"""
import time
_t0 = time.perf_counter()
_c0 = time.process_time()
import json, sys
entry_dir, task_dir, fixture, snapstart = sys.argv[1:5]
sys.path[:0] = [entry_dir, task_dir]
hooks = {"before": [], "after": []}
if snapstart == "1":
    import types
    stand_in = types.ModuleType("snapshot_restore_py")
    stand_in.register_before_snapshot = lambda f, *a, **k: hooks["before"].append((f, a, k)) or f
    stand_in.register_after_restore = lambda f, *a, **k: hooks["after"].append((f, a, k)) or f
    sys.modules["snapshot_restore_py"] = stand_in
import lambda_function as module
_t1 = time.perf_counter()
report = {"import_ms": (_t1 - _t0) * 1000, "hooks": len(hooks["before"]) + len(hooks["after"])}
if snapstart == "1":
    for f, a, k in reversed(hooks["before"]):
        f(*a, **k)
    _t2 = time.perf_counter()
    for f, a, k in hooks["after"]:
        f(*a, **k)
    _t3 = time.perf_counter()
    report |= {"before_snapshot_ms": (_t2 - _t1) * 1000, "after_restore_ms": (_t3 - _t2) * 1000}
    _t1 = _t3
loaded_before_answer = set(sys.modules)
answer = module.lambda_handler(json.load(open(fixture)), None)
_t4 = time.perf_counter()
_c4 = time.process_time()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
loaded = sorted({name.split(".")[0] for name in sys.modules})
report |= {
    "first_answer_ms": (_t4 - _t1) * 1000,
    "import_and_answer_ms": (_t4 - _t0) * 1000,
    "cpu_ms": (_c4 - _c0) * 1000,
    "peak_rss_kb": int(status["VmHWM"].split()[0]),
    "speech": bool(answer.get("response", {}).get("outputSpeech")),
    "third_party": [m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_")],
    "module_count": len(sys.modules),
    "loaded_by_first_answer": len(set(sys.modules) - loaded_before_answer),
}
print(json.dumps(report))
"""


@dataclass(frozen=True)
class Options:
    runs: int = 5
    source_runs: int = 3  # the no-bytecode runs (0 skips them)
    snapstart_runs: int = 3  # the runs that play SnapStart's hooks (0 skips them)


class ColdStartError(RuntimeError):
    """A child process failed, or there is no runtime Python or zip to run; the message says which."""


@dataclass(frozen=True)
class Layout:
    """Where the children run: the runtime's Python, the unpacked zip and each entry's folder."""

    python: str
    version: str  # the Python version the zip targets
    architecture: str
    task: Path  # the unpacked zip, as /var/task
    entries: dict[str, Path]  # entry name -> the folder its lambda_function.py is in


def load_build() -> ModuleType:
    """scripts/build_lambda_zip.py, by path (`scripts` is not a package)."""
    if "build_lambda_zip" in sys.modules:
    # Once per process: a second exec would rebind its classes under callers that hold the first ones.
        return sys.modules["build_lambda_zip"]
    spec = importlib.util.spec_from_file_location("build_lambda_zip", ROOT / "scripts" / "build_lambda_zip.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_lambda_zip"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def prepare(tmp: Path) -> Layout:
    """Build and unpack the zip for this machine, and give hello its folder, both with bytecode."""
    build = load_build()
    target = build.target_from()
    python = build.find_python(target.python_version)
    if python is None:
        raise ColdStartError(f"no Python {target.python_version} here (BEDTIME_TARGET_PYTHON, "
                             f"python{target.python_version} on PATH, pyenv) to run the Lambda zip with")
    here = {machine: name for name, machine in build.ARCHITECTURES.items()}.get(platform.machine())
    if here is None:
        raise ColdStartError(f"this machine ({platform.machine()}) is no Lambda architecture")
    try:
        artifact = build.build(tmp / "lambda.zip", architecture=here, say=lambda *_: None)
    except build.BuildError as exc:
        raise ColdStartError(f"the Lambda zip did not build: {exc}") from exc
    task = tmp / "task"
    with zipfile.ZipFile(artifact) as zf:
        zf.extractall(task)
    hello = tmp / "hello"
    hello.mkdir()
    shutil.copy2(CANONICAL_HELLO, hello / CANONICAL_HELLO.name)
    compiled = subprocess.run([python, "-I", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True, "
                               "invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)",
                               str(hello / CANONICAL_HELLO.name)], capture_output=True, text=True, check=False)
    if compiled.returncode != 0:
        raise ColdStartError(f"hello did not compile: {compiled.stderr.strip()[-300:]}")
    return Layout(python, target.python_version, here, task, {"skill": task, "hello": hello})


def drop_bytecode(layout: Layout) -> None:
    """Remove every __pycache__ the zip and hello ship: what a zip without bytecode gives Lambda."""
    for folder in {layout.task, *layout.entries.values()}:
        for cache in sorted(folder.rglob("__pycache__"), key=lambda p: len(p.parts), reverse=True):
            shutil.rmtree(cache)


def child_env(data_dir: Path) -> dict[str, str]:
    """An offline Lambda's settings: SQLite under the run's folder, no Alexa API call (-I ignores PYTHON*)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BEDTIME_DATA_DIR": str(data_dir),
            "BEDTIME_ALEXA_API": "false"}


def spawn(layout: Layout, entry: str, mode: str, cwd: Path,
          extra_flags: list[str] | None = None) -> tuple[dict[str, Any], str]:
    """Run one child; return its report (with the parent's wall time in ms) and its stderr."""
    flags = ["-I", "-S", *(["-B"] if mode == "source" else []), *(extra_flags or [])]
    argv = [layout.python, *flags, "-c", CHILD, str(layout.entries[entry]), str(layout.task),
            str(FIXTURES / "launch.json"), "1" if mode == "snapstart" else "0"]
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, env=child_env(cwd / f"data-{entry}"), cwd=cwd, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ColdStartError(f"{entry} cold start did not finish within {CHILD_TIMEOUT:.0f}s") from None
    wall_ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0 or not done.stdout.strip():
        raise ColdStartError(f"{entry} cold start failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not report["speech"]:
        raise ColdStartError(f"{entry} cold start answered launch without speech")
    report["wall_ms"] = wall_ms
    return report, done.stderr


MEDIANS = ("import_ms", "first_answer_ms", "import_and_answer_ms", "cpu_ms", "wall_ms", "peak_rss_kb",
           "before_snapshot_ms", "after_restore_ms")


def summarise(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over one entry's runs, and the third-party packages it loaded."""
    summary: dict[str, Any] = {"runs": len(reports)}
    for key in MEDIANS:
        if key in reports[0]:
            summary[key] = round(statistics.median(r[key] for r in reports), 1)
    summary["peak_rss_kb"] = int(summary["peak_rss_kb"])
    last = reports[-1]
    own = {"skill", "lambda_function"}
    summary |= {"module_count": last["module_count"], "loaded_by_first_answer": last["loaded_by_first_answer"],
                "hooks": last["hooks"], "third_party": [m for m in last["third_party"] if m not in own]}
    return summary


def measure(layout: Layout, mode: str, runs: int, tmp: Path) -> dict[str, dict[str, Any]]:
    """Both entries, `runs` fresh processes each, taking turns."""
    for entry in ENTRIES:
        spawn(layout, entry, mode, tmp)  # unmeasured: the first read of every file comes from disk
    reports: dict[str, list[dict[str, Any]]] = {entry: [] for entry in ENTRIES}
    for _ in range(runs):
        for entry in ENTRIES:
            reports[entry].append(spawn(layout, entry, mode, tmp)[0])
    return {entry: summarise(reports[entry]) for entry in ENTRIES}


def run(options: Options) -> dict[str, Any]:
    """Cold start of the Lambda entry and of the canonical hello, side by side, with and without bytecode."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp_name:
        tmp = Path(tmp_name)
        layout = prepare(tmp)
        measured = {"bytecode": measure(layout, "bytecode", options.runs, tmp)}
        if options.snapstart_runs:
            measured["snapstart"] = measure(layout, "snapstart", options.snapstart_runs, tmp)
        if options.source_runs:
            drop_bytecode(layout)
            measured["source"] = measure(layout, "source", options.source_runs, tmp)
    skill, hello = measured["bytecode"]["skill"], measured["bytecode"]["hello"]
    result: dict[str, Any] = {
        "python": layout.version,
        "architecture": layout.architecture,
        **measured,
        "ratios": {
            "import_and_answer": round(ratio(skill["import_and_answer_ms"], hello["import_and_answer_ms"]), 2),
            "wall": round(ratio(skill["wall_ms"], hello["wall_ms"]), 2),
            "peak_rss": round(ratio(skill["peak_rss_kb"], hello["peak_rss_kb"]), 2),
            "cpu": round(ratio(skill["cpu_ms"], hello["cpu_ms"]), 2),
        },
        "forbidden_loaded": [m for m in FORBIDDEN if m in skill["third_party"]],
    }
    for mode, key in (("source", "source_import_and_answer"), ("snapstart", "restored_first_answer")):
        if mode in measured:
            figure = "first_answer_ms" if mode == "snapstart" else "import_and_answer_ms"
            result["ratios"][key] = round(ratio(measured[mode]["skill"][figure], measured[mode]["hello"][figure]), 2)
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
        layout = prepare(tmp)  # the zip's own bytecode, so compile time does not blur the picture
        spawn(layout, "skill", "bytecode", tmp)  # the first read of every file comes from disk
        _, stderr = spawn(layout, "skill", "bytecode", tmp, ["-X", "importtime"])
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
