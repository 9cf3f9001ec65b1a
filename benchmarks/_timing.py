"""Shared timing helpers for the benchmark scripts: medians over repeats, after warm-up."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], repeats: int = 15, warmup: int = 2, min_time: float = 0.0) -> float:
    """Median wall time of fn() over `repeats` runs (more if they total under min_time)."""
    # OpenBLAS worker threads (NumPy's, or ours) busy-wait ~0.1 s after a call: let the other
    # library's pool go idle first, or it steals a core from the code being timed.
    time.sleep(0.3)
    for _ in range(warmup):
        fn()
    times: list[float] = []
    total = 0.0
    while len(times) < repeats or total < min_time:
        start = time.perf_counter()
        fn()
        t = time.perf_counter() - start
        times.append(t)
        total += t
        if len(times) > 10 * repeats:
            break
    return statistics.median(times)


def row(name: str, ours: float, anchor: float, unit: str, extra: str = "") -> str:
    """One result line: both figures and ours/anchor (>1 means aimass is faster)."""
    return f"{name:<38} aimass {ours:>10.3f} {unit:<7} anchor {anchor:>10.3f} {unit:<7} speedup {anchor and ours / anchor:5.2f}x {extra}"
