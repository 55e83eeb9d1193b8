"""Targets marked pass or fail, and the readable table printed at the end of a run."""
from __future__ import annotations

from typing import Any

# Name, where the value sits in the results, the limit it must not exceed, and what it means.
TARGETS: tuple[tuple[str, tuple[str, ...], float, str], ...] = (
    # 1.5x since issue #21: the skill reads requests with the SDK's own serializer, as hello does.
    ("in-process mean x hello", ("inproc", "mean", "ratio"), 1.5, "skill µs / hello µs, one of each case"),
    ("http rps: hello / skill", ("http", "ratios", "rps_hello_over_skill"), 1.3, "how many times hello's throughput"),
    ("http p50: skill / hello", ("http", "ratios", "p50_skill_over_hello"), 1.3, "median latency ratio"),
    ("http p99/p50 skill", ("http", "servers", "skill", "p99_over_p50"), 3.0, "tail latency spread"),
    ("cold start x hello", ("cold", "ratios", "import_and_answer"), 1.5, "import + first answer, in the child"),
    ("peak memory x hello", ("cold", "ratios", "peak_rss"), 1.5, "VmHWM of the child"),
    # With SnapStart (on by default) a new container is restored after init: its first answer is what is left.
    ("restored 1st answer x hello", ("cold", "ratios", "restored_first_answer"), 1.5,
     "first answer after the SnapStart hooks; hello has none"),
)


def dig(results: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target whose section ran, with its value and whether it passed."""
    marks: list[dict[str, Any]] = []
    for name, path, limit, meaning in TARGETS:
        value = dig(results, path)
        if isinstance(value, int | float) and value > 0:
            marks.append({"name": name, "value": value, "limit": limit, "pass": value <= limit, "meaning": meaning})
    errors = [
        dig(results, ("inproc", "errors")),
        *(s.get("errors") for s in (dig(results, ("http", "servers")) or {}).values()),
    ]
    counted = [e for e in errors if isinstance(e, int)]
    if counted:
        marks.append({"name": "zero errors", "value": sum(counted), "limit": 0, "pass": sum(counted) == 0,
                      "meaning": "in-process error-handler hits + HTTP failures"})
    forbidden = dig(results, ("cold", "forbidden_loaded"))
    if isinstance(forbidden, list):
        marks.append({"name": "lambda imports no pydantic, web or AWS stack", "value": ",".join(forbidden) or "none",
                      "limit": "none", "pass": not forbidden, "meaning": "pydantic, flask, boto3 ... not loaded"})
    return marks


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(cells, widths)))


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row([str(c) for c in row], widths) for row in rows]
    return "\n".join(lines)


def _cpu(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"


def render(results: dict[str, Any]) -> str:
    """The whole run as plain-text tables."""
    out: list[str] = []
    if "inproc" in results:
        section = results["inproc"]
        out.append(f"\n== in-process: µs per request (median of {section.get('repeats')} x {section.get('n')}) ==")
        if "error" in section:
            out.append(f"failed: {section['error']}")
        else:
            rows = [[name, f"{c['skill_us']:.0f}", f"{c['hello_us']:.0f}", f"{c['ratio']:.2f}x"]
                    for name, c in section["cases"].items()]
            m = section["mean"]
            rows.append(["mean", f"{m['skill_us']:.0f}", f"{m['hello_us']:.0f}", f"{m['ratio']:.2f}x"])
            out.append(table(["case", "skill µs", "hello µs", "ratio"], rows))
    if "http" in results:
        section = results["http"]
        out.append(f"\n== HTTP on loopback: gunicorn {section.get('workers')} workers ({section.get('worker_class')}); "
                   f"load client in its own process, {section.get('clients')} keep-alive threads; "
                   f"{section.get('requests_per_round')} requests x {section.get('rounds')} rounds per server, "
                   f"medians over the rounds ==")
        if "error" in section:
            out.append(f"failed: {section['error']}")
        else:
            rows = [[name, f"{s['rps']:.0f}", f"{s['p50_ms']:.2f}", f"{s['p90_ms']:.2f}", f"{s['p99_ms']:.2f}",
                     f"{s['p99_over_p50']:.2f}", _cpu(s.get("cpu_ms_per_request")), str(s["errors"])]
                    for name, s in section["servers"].items()]
            out.append(table(["server", "rps", "p50 ms", "p90 ms", "p99 ms", "p99/p50", "server cpu ms/req", "errors"],
                             rows))
            out.append("ratios: " + ", ".join(f"{k} {v}" for k, v in section["ratios"].items()))
    if "cold" in results:
        section = results["cold"]
        out.append(f"\n== cold start: the Lambda zip (CPython {section.get('python')}, {section.get('architecture')}) "
                   "beside the canonical hello, a fresh bare process each (medians) ==")
        if "error" in section:
            out.append(f"failed: {section['error']}")
        else:
            labels = {"bytecode": "with .pyc", "source": "no .pyc, -B", "snapstart": "SnapStart hooks, then 1st answer"}
            rows = []
            for mode in ("bytecode", "source", "snapstart"):
                for entry, c in section.get(mode, {}).items():
                    hooks = f"{c['before_snapshot_ms']:.1f} / {c['after_restore_ms']:.2f}" if c.get("hooks") else ""
                    rows.append([f"{entry} ({labels[mode]})", f"{c['import_ms']:.0f}", f"{c['first_answer_ms']:.1f}",
                                 f"{c['import_and_answer_ms']:.0f}", f"{c['cpu_ms']:.0f}", f"{c['wall_ms']:.0f}",
                                 f"{c['peak_rss_kb'] / 1024:.1f}", str(c["module_count"]), hooks])
            out.append(table(["entry", "import ms", "1st answer ms", "import+answer ms", "cpu ms", "process wall ms",
                              "peak MiB", "modules", "before snapshot / after restore ms"], rows))
            out.append("ratios: " + ", ".join(f"{k} {v}" for k, v in section["ratios"].items()))
            skill = section["bytecode"]["skill"]
            out.append("third-party packages on the Lambda path: " + ", ".join(skill["third_party"]))
    if "sim" in results:
        section = results["sim"]
        out.append("\n== offline simulator: every sample utterance, slots filled ==")
        if "error" in section:
            out.append(f"failed: {section['error']}")
        else:
            out.append(table(["utterances", "per second", "µs each", "model compile ms", "own intent"], [[
                str(section["utterances"]), f"{section['per_second']:.0f}", f"{section['us_per_utterance']:.0f}",
                f"{section['compile_ms']:.0f}", f"{section['own_intent']}/{section['utterances']}"]]))
    marks = results.get("targets", [])
    if marks:
        out.append("\n== targets (marked, never failing the run) ==")
        out.append(table(["target", "value", "limit", "result"],
                         [[m["name"], str(m["value"]), str(m["limit"]), "PASS" if m["pass"] else "FAIL"] for m in marks]))
    return "\n".join(out)
