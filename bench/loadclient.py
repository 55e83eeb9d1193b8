"""The HTTP load client, run in a process of its own: `python -m bench.loadclient < plan.json`.

It imports nothing but the standard library, uses a fixed small number of threads (each on one
keep-alive connection), and sends the servers short rounds in turn: round 1 to every server, then
round 2 (starting with the next server), and so on, so a busy moment on the shared machine falls
on all of them. It prints one JSON object: for each server, a summary of each round (rps, p50,
p99, errors, statuses, and the CPU time the server's processes spent on the round).

The plan (JSON on stdin): {"servers": {name: port}, "bodies": [text, ...], "requests": n,
"clients": c, "rounds": r, "warmup": w, "max_seconds": s, "pids": {name: gunicorn master pid}}
("pids" is optional; without it, or without /proc, a round's cpu_ms is null).
"""
from __future__ import annotations

import http.client
import json
import math
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

HOST = "127.0.0.1"  # loopback only, always
REQUEST_TIMEOUT = 10.0  # bounds one hung request
HEADERS = {"Content-Type": "application/json"}


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (bench.measure has the same; this process imports nothing of ours)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values) - 1e-9)))
    return sorted_values[rank - 1]


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def server_cpu_ms(master: int) -> float | None:
    """CPU time (user + system) so far of a gunicorn master and its workers, in ms; None without /proc.

    The workers are the master's children; a worker's time reaches the master's own figures only
    when it exits, so each live child is read as well. Other load on the machine barely moves this
    figure, which is why it stands beside the wall-clock ones.
    """
    own = _stat_fields(master)
    if own is None:
        return None
    ticks = int(own[11]) + int(own[12])  # utime, stime
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != master:
            fields = _stat_fields(int(entry))
            if fields is not None and fields[1] == str(master):  # ppid
                ticks += int(fields[11]) + int(fields[12])
    return ticks * 1000 / TICKS_PER_SECOND


def one_round(
    port: int, bodies: list[bytes], total: int, clients: int, max_seconds: float, pid: int | None = None
) -> dict[str, Any]:
    """Send `total` POSTs from `clients` keep-alive connections; stop early after max_seconds.

    With the server's master `pid`, the round also reports the CPU time its processes spent.
    """
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        failed = 0
        try:
            for k in range(index, total, clients):
                if time.monotonic() > deadline:
                    seen["not sent (time limit)"] += 1
                    failed += 1
                    continue
                started = time.perf_counter()
                try:
                    conn.request("POST", "/alexa", bodies[k % len(bodies)], HEADERS)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    seen[type(exc).__name__] += 1
                    failed += 1
                    conn.close()  # a fresh connection for the next request
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                seen[str(response.status)] += 1
                if response.status != 200:
                    failed += 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                statuses.update(seen)
                errors[0] += failed

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    cpu_before = server_cpu_ms(pid) if pid else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # Each request is bounded by REQUEST_TIMEOUT, so this join always returns.
        thread.join(max_seconds + REQUEST_TIMEOUT * 2)
    seconds = time.perf_counter() - started
    cpu_after = server_cpu_ms(pid) if pid else None
    done = sorted(latencies)
    return {
        "requests": total,
        "errors": errors[0],
        "statuses": dict(sorted(statuses.items())),
        "seconds": round(seconds, 3),
        "rps": round(len(done) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(done, 0.50), 3),
        "p90_ms": round(percentile(done, 0.90), 3),
        "p99_ms": round(percentile(done, 0.99), 3),
        "max_ms": round(done[-1], 3) if done else 0.0,
        "cpu_ms": round(cpu_after - cpu_before, 1) if cpu_before is not None and cpu_after is not None else None,
    }


def run(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Warm every server up, then the rounds, servers taking turns within each round."""
    bodies = [body.encode("utf-8") for body in plan["bodies"]]
    servers: dict[str, int] = plan["servers"]
    pids: dict[str, int] = plan.get("pids") or {}
    clients, seconds = int(plan["clients"]), float(plan["max_seconds"])
    for port in servers.values():
        one_round(port, bodies, int(plan["warmup"]), clients, seconds)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    order = list(servers)
    for number in range(int(plan["rounds"])):
        # The servers take turns, starting with a different one each round, so none is always first.
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            rounds[name].append(
                one_round(servers[name], bodies, int(plan["requests"]), clients, seconds, pids.get(name))
            )
    return rounds


def main() -> int:
    json.dump(run(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
