"""How the benches time a call: wall-clock samples in milliseconds, and their median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def samples_ms(fn: Callable[[], object], runs: int) -> list[float]:
    """``runs`` wall-clock times of ``fn()``, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """The median of ``runs`` wall-clock times of ``fn()``, in milliseconds."""
    return statistics.median(samples_ms(fn, runs))
