"""Timing: warm-up, then time-based runs with a minimum count, summarised as percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TimingPolicy:
    """How long to measure one (artifact, batch size): enough runs for a stable p90."""

    warmup_runs: int = 20
    min_runs: int = 100
    min_seconds: float = 0.5
    max_runs: int = 50_000
    max_seconds: float = 5.0


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(np.floor(rank))
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize(samples_ns: Sequence[int], batch_size: int) -> dict[str, Any]:
    """mean, std, min, p50, p90, p99, max in milliseconds, and images per second at the median."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50 = percentile(ms, 50)
    return {
        "runs": int(len(ms)),
        "batch_size": batch_size,
        "mean_ms": float(ms.mean()),
        "std_ms": float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        "min_ms": float(ms.min()),
        "p50_ms": p50,
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": float(ms.max()),
        "images_per_second": batch_size / (p50 / 1e3) if p50 > 0 else float("inf"),
    }


def time_calls(call: Callable[[], object], policy: TimingPolicy) -> list[int]:
    """Per-call wall times in ns: warm-up, then at least min_runs and min_seconds, at most max_*."""
    for _ in range(policy.warmup_runs):
        call()
    samples: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    min_ns, max_ns = policy.min_seconds * 1e9, policy.max_seconds * 1e9
    while True:
        t0 = clock()
        call()
        t1 = clock()
        samples.append(t1 - t0)
        elapsed = t1 - started
        n = len(samples)
        if n >= policy.max_runs or elapsed >= max_ns and n >= 3:
            break
        if n >= policy.min_runs and elapsed >= min_ns:
            break
    return samples
