"""What `edgekit bench` measures and how: one frozen, self-validating object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.benchmarks.latency import TimingPolicy
from edgekit.errors import UsageError


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how."""

    split: str = "test"
    threads: int | None = 1
    batch_sizes: tuple[int, ...] = (1, 32)
    artifacts: tuple[str, ...] = ()  # names (tflite-int8) or paths; empty: every artifact of the run
    policy: TimingPolicy = field(default_factory=TimingPolicy)
    plots: bool = True
    out_dir: Path | None = None  # default: the run's bench/ folder
    declared: Any = None  # a contract.DeclaredContract: what the user declared about the model
    verify: bool = True  # check artifacts' sha256 against their sidecar or seal (--no-verify: skip)
    profile: bool = True  # each artifact's peak memory (a child process) and per-op profile, apart from latency

    def validate(self) -> None:
        if self.split not in ("test", "validation", "train"):
            raise UsageError(f"--dataset-split must be test, validation or train, not {self.split!r}")
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise UsageError(f"batch sizes must be positive, got {list(self.batch_sizes)}")
        from edgekit.runtime.safety.opening import check_threads

        check_threads(self.threads)

    @property
    def smallest_batch(self) -> int:
        return min(self.batch_sizes)
