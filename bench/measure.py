"""Timing helpers shared by the sections: interleaved repeated loops, medians and percentiles."""
from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    # ceil(p * n), with a hair off so 0.99 * 100 (= 99.00000000000001 in floats) is rank 99.
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values) - 1e-9)))
    return sorted_values[rank - 1]


def ratio(value: float, baseline: float) -> float:
    """value / baseline, or 0.0 when the baseline is zero (never a ZeroDivisionError in a report)."""
    return value / baseline if baseline else 0.0


def loop_seconds(fn: Callable[[], object], n: int) -> float:
    """Seconds for n calls of fn, with the garbage collector paused as timeit does."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def compare_loops(
    contenders: Mapping[str, Callable[[], object]], *, n: int, repeats: int, warmup: int
) -> dict[str, float]:
    """Median microseconds per call of each contender.

    The contenders take turns within every repeat (skill, baseline, skill, baseline ...), so a
    slow moment on the machine falls on both sides instead of skewing one of them.
    """
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            samples[name].append(loop_seconds(fn, n) / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}
