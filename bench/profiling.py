"""`python -m bench --profile`: where the time goes, for the lead to act on.

Two views: cProfile of the in-process request path (every main case, many times, sorted by
cumulative time), and `python -X importtime` of the Lambda cold-start import.
"""
from __future__ import annotations

import cProfile
import io
import pstats
from typing import TextIO

from bench import coldstart, inproc


def request_profile(n: int, top: int) -> str:
    """The top functions, by cumulative time, of n rounds of every main case through the skill."""
    go = inproc.profile_target(n)
    profiler = cProfile.Profile()
    profiler.runcall(go)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    text.write("\n-- same run, by own time (tottime) --\n")
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def import_profile(top: int) -> str:
    summary = coldstart.import_times(top)
    lines = [
        f"all top-level imports: {summary['total_ms']} ms; lambda_function: {summary['lambda_function_ms']} ms "
        f"(of which its own body, i.e. Settings.from_env() + build_skill(): {summary['lambda_function_self_ms']} ms)",
        "",
        "own import time by package (ms):",
        *(f"  {ms:8.1f}  {name}" for name, ms in summary["by_package"]),
        "",
        "biggest single imports, with everything beneath them, and who imported them (ms):",
        *(f"  {ms:8.1f}  {name}  <- {parent}" for name, ms, parent in summary["biggest"]),
    ]
    return "\n".join(lines)


def web_adapter_costs(n: int) -> list[tuple[str, float]]:
    """µs per POST /alexa through Flask's test client (no sockets): where the HTTP gap comes from.

    The skill's app with and without its one-JSON-line-per-request log (sent to /dev/null), the
    hello skill behind the minimal adapter, and the bare echo app, all with the same body.
    """
    import logging
    import os
    import sys
    import tempfile
    import timeit
    from pathlib import Path

    from bench import apps, cases
    from skill.logs import configure
    from skill.settings import Settings
    from skill.web import create_app

    body = cases.body(cases.fixture("amazon_help.json"))

    def per_request(app: object) -> float:
        client = app.test_client()  # type: ignore[attr-defined]

        def post() -> None:
            # Closed as a server closes it after sending: the skill's log line is written then.
            with client.post("/alexa", data=body, content_type="application/json") as response:
                if response.status_code != 200:
                    raise RuntimeError(f"test client POST /alexa answered {response.status_code}")

        for _ in range(50):
            post()
        return min(timeit.repeat(post, number=n, repeat=3)) / n * 1e6

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp, open(os.devnull, "w") as devnull:
        settings = Settings(_env_file=None, verify_signature=False, persistence="sqlite", data_dir=Path(tmp),
                            alexa_api=False)
        skill_app = create_app(settings)
        rows = [("skill app, logging not configured", per_request(skill_app))]
        try:
            sys.stderr = devnull  # configure() binds its handler to the stderr of the moment
            configure(settings.log_level)
            rows.append((f"skill app, JSON log at {settings.log_level} (as served)", per_request(skill_app)))
        finally:
            handlers, level, sys.stderr = saved
            root.handlers[:] = handlers
            root.setLevel(level)
        rows.append(("hello skill, minimal adapter", per_request(apps.create_hello_app())))
        rows.append(("bare Flask echo", per_request(apps.create_echo_app())))
    return rows


def run(out: TextIO, *, n: int = 200, top: int = 30) -> None:
    out.write(f"== cProfile: {n} rounds of every main case through the full skill (SQLite, APIs off) ==\n")
    out.write(request_profile(n, top))
    out.write("\n== the web adapter in process: µs per POST /alexa (AMAZON.HelpIntent) via Flask's test client ==\n")
    for name, us in web_adapter_costs(n * 5):
        out.write(f"  {us:8.0f}  {name}\n")
    out.write("\n== python -X importtime: the Lambda entry, bytecode cached ==\n")
    out.write(import_profile(top) + "\n")
