"""What an artifact costs a device beyond its latency: peak memory and where its time goes, as values.

Both are measured apart from the latency runs (memory in a child process, the op profile after the timed
runs, on interpreters of their own), so that neither perturbs the latency figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MEMORY_METHOD = (
    "a child process (numpy and the interpreter imported) loads the file as edgekit does and runs 10 inferences "
    "at batch 1: peak is the rise of its resident-memory high-water mark (VmHWM), heap the rise of its anonymous "
    "resident memory (model bytes, arena, packed weights, interpreter structures); the rest of the peak is the "
    "interpreter library's code paged in, shared between processes and much the same for any model"
)


@dataclass(frozen=True)
class PeakMemory:
    """Memory one artifact takes in a process of its own (see ``MEMORY_METHOD``)."""

    peak_mb: float
    heap_mb: float | None
    method: str = MEMORY_METHOD
    note: str | None = None  # e.g. the high-water mark could not be reset after the imports

    def to_dict(self) -> dict[str, Any]:
        data = {"peak_mb": self.peak_mb, "heap_mb": self.heap_mb, "method": self.method}
        return data | ({"note": self.note} if self.note else {})

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PeakMemory:
        heap = data.get("heap_mb")
        return PeakMemory(
            peak_mb=float(data["peak_mb"]),
            heap_mb=None if heap is None else float(heap),
            method=str(data.get("method", MEMORY_METHOD)),
            note=data.get("note"),
        )


@dataclass(frozen=True)
class OpTime:
    """One op type of an artifact: how many nodes, their time per inference, their share of all ops' time."""

    op: str
    nodes: int
    ms: float
    share: float  # 0..1 of ``OpProfile.ops_ms``

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "nodes": self.nodes, "ms": self.ms, "share": self.share}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> OpTime:
        return OpTime(str(data["op"]), int(data["nodes"]), float(data["ms"]), float(data["share"]))


@dataclass(frozen=True)
class OpProfile:
    """Which op types take an artifact's time at batch 1, slowest first, and how that was measured."""

    method: str
    ops: tuple[OpTime, ...]
    ops_ms: float  # the ops' times summed, per inference
    runs: int
    untimed: tuple[str, ...] = ()  # op types with a node that could not be timed on its own

    @property
    def top(self) -> OpTime | None:
        return self.ops[0] if self.ops else None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "method": self.method,
            "runs": self.runs,
            "ops_ms": self.ops_ms,
            "ops": [o.to_dict() for o in self.ops],
        }
        return data | ({"untimed": list(self.untimed)} if self.untimed else {})

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> OpProfile:
        return OpProfile(
            method=str(data["method"]),
            ops=tuple(OpTime.from_dict(o) for o in data["ops"]),
            ops_ms=float(data["ops_ms"]),
            runs=int(data["runs"]),
            untimed=tuple(str(o) for o in data.get("untimed", ())),
        )


def op_profile(method: str, times_ms: Mapping[str, list[float]], runs: int, untimed: set[str]) -> OpProfile:
    """An OpProfile from each op type's per-node times (ms per inference)."""
    total = sum(sum(t) for t in times_ms.values())
    ops = sorted(
        (
            OpTime(op, len(t), round(sum(t), 6), round(sum(t) / total, 4) if total > 0 else 0.0)
            for op, t in times_ms.items()
        ),
        key=lambda o: -o.ms,
    )
    return OpProfile(method, tuple(ops), round(total, 6), runs, tuple(sorted(untimed)))
