"""`python -m bench` (and `make bench`): run the sections, print a table, write results JSON.

    python -m bench                      # everything, about two minutes on two cores
    python -m bench --quick --only inproc,sim --out /tmp/bench.json
    python -m bench --profile            # where the time goes (cProfile and -X importtime)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT, coldstart, http, inproc, report, simulator

SECTIONS = ("inproc", "http", "cold", "sim")


def _sections(value: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {','.join(SECTIONS)} (got {value!r})")
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for the smoke test")
    parser.add_argument("--only", type=_sections, default=list(SECTIONS), metavar="LIST",
                        help=f"comma-separated sections: {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="where the JSON results go")
    parser.add_argument("--profile", action="store_true", help="print profiles instead of running the benchmark")
    return parser.parse_args(argv)


def runners(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    """Each section with its counts: the default run fits in about two minutes, --quick in seconds."""
    if quick:
        return {
            "inproc": lambda: inproc.run(inproc.Options(n=30, repeats=2, warmup=5)),
            "http": lambda: http.run(http.Options(requests=200, rounds=1)),
            "cold": lambda: coldstart.run(coldstart.Options(runs=2, source_runs=1, snapstart_runs=1)),
            "sim": lambda: simulator.run(simulator.Options(repeats=2, passes=1)),
        }
    return {
        # Short loops, many of them, taking turns: a busy moment on the shared machine falls on both.
        "inproc": lambda: inproc.run(inproc.Options(n=100, repeats=21)),
        # Short rounds, many of them: the servers take turns often, so load from anything else
        # on the machine falls evenly on all three.
        "http": lambda: http.run(http.Options(requests=150, rounds=31)),
        "cold": lambda: coldstart.run(coldstart.Options(runs=11, source_runs=5, snapstart_runs=5)),
        "sim": lambda: simulator.run(simulator.Options()),
    }


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# What a section may raise when something outside it is wrong (a fixture, a server, a child
# process); anything else is a bug in the benchmark and is allowed to show its traceback.
EXPECTED = (http.ServerError, coldstart.ColdStartError, OSError, RuntimeError, ValueError)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        from bench import profiling

        profiling.run(sys.stdout, n=50 if args.quick else 200)
        return 0

    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "commit": git_commit(),
            "quick": args.quick,
            "sections": args.only,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            # Other work on the machine blurs every figure; the load average says how much there was.
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        }
    }
    failed = False
    plan = runners(args.quick)
    for name in args.only:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        section_started = time.perf_counter()
        try:
            results[name] = plan[name]()
        except EXPECTED as exc:
            failed = True
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"bench: {name} failed: {exc}", file=sys.stderr)
        results[name]["section_seconds"] = round(time.perf_counter() - section_started, 1)
    results["targets"] = report.targets(results)
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    print(report.render(results))
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"bench: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"\nresults: {args.out} ({results['meta']['seconds']} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
