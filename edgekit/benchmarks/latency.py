"""Timing: warm-up, then time-based runs with a minimum count, summarised as percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
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


@dataclass(frozen=True)
class LatencyStats:
    """One (artifact, batch size): milliseconds per call, and images per second at the median."""

    runs: int
    batch_size: int
    mean_ms: float
    std_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    images_per_second: float
    end_to_end_p50_ms: float | None = None  # Model.predict from raw images, preprocessing included

    def with_end_to_end(self, end_to_end: LatencyStats) -> LatencyStats:
        return replace(self, end_to_end_p50_ms=end_to_end.p50_ms)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.end_to_end_p50_ms is None:
            del data["end_to_end_p50_ms"]
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> LatencyStats:
        end_to_end = data.get("end_to_end_p50_ms")
        return LatencyStats(
            runs=int(data["runs"]),
            batch_size=int(data["batch_size"]),
            mean_ms=float(data["mean_ms"]),
            std_ms=float(data["std_ms"]),
            min_ms=float(data["min_ms"]),
            p50_ms=float(data["p50_ms"]),
            p90_ms=float(data["p90_ms"]),
            p99_ms=float(data["p99_ms"]),
            max_ms=float(data["max_ms"]),
            images_per_second=float(data["images_per_second"]),
            end_to_end_p50_ms=None if end_to_end is None else float(end_to_end),
        )


Latencies = Mapping[int, LatencyStats]  # keyed by batch size; JSON keys are the sizes as strings


def latencies_to_dict(latencies: Latencies) -> dict[str, Any]:
    return {str(b): latencies[b].to_dict() for b in sorted(latencies)}


def latencies_from_dict(data: Mapping[str, Any]) -> dict[int, LatencyStats]:
    return {int(b): LatencyStats.from_dict(stats) for b, stats in data.items()}


def smallest_batch(latencies: Latencies) -> LatencyStats | None:
    """The stats at the smallest batch size measured (the gate's and the tables' reference point)."""
    return latencies[min(latencies)] if latencies else None


def percentile(samples: Sequence[float] | np.ndarray, q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(np.floor(rank))
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize(samples_ns: Sequence[int], batch_size: int) -> LatencyStats:
    """mean, std, min, p50, p90, p99, max in milliseconds, and images per second at the median."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    p50 = percentile(ms, 50)
    return LatencyStats(
        runs=len(ms),
        batch_size=batch_size,
        mean_ms=float(ms.mean()),
        std_ms=float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        min_ms=float(ms.min()),
        p50_ms=p50,
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=float(ms.max()),
        images_per_second=batch_size / (p50 / 1e3) if p50 > 0 else float("inf"),
    )


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
        if n >= policy.max_runs or (elapsed >= max_ns and n >= 3):
            break
        if n >= policy.min_runs and elapsed >= min_ns:
            break
    return samples
