"""What the gate found: each breach, where the baseline came from, and the result as report.json holds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Breach:
    """One threshold an artifact did not meet."""

    artifact: str
    check: str  # the Thresholds field, e.g. max_accuracy_drop
    value: float
    limit: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Breach:
        return Breach(
            artifact=str(data["artifact"]),
            check=str(data["check"]),
            value=float(data["value"]),
            limit=float(data["limit"]),
            message=str(data["message"]),
        )


@dataclass(frozen=True)
class BaselineInfo:
    """Where the baseline came from and whether its latencies are comparable with this machine's."""

    path: str | None
    created_at: str | None
    same_machine: bool
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> BaselineInfo:
        return BaselineInfo(
            path=data["path"], created_at=data["created_at"], same_machine=bool(data["same_machine"]), note=data["note"]
        )


@dataclass(frozen=True)
class GateResult:
    """The thresholds that were set, the baseline compared with, every breach, and how much was compared."""

    thresholds: dict[str, float]
    baseline: BaselineInfo | None
    breaches: tuple[Breach, ...]
    comparisons: dict[str, int] | None = None  # per threshold, the artifacts it was checked on; None: not recorded

    @property
    def passed(self) -> bool:
        return not self.breaches

    def for_artifact(self, name: str) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.artifact == name)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "thresholds": dict(self.thresholds),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "breaches": [b.to_dict() for b in self.breaches],
            "passed": self.passed,
        }
        if self.comparisons is not None:  # absent in reports written before it was counted
            data["comparisons"] = dict(self.comparisons)
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> GateResult:
        baseline, comparisons = data["baseline"], data.get("comparisons")
        return GateResult(
            thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
            baseline=BaselineInfo.from_dict(baseline) if baseline else None,
            breaches=tuple(Breach.from_dict(b) for b in data["breaches"]),
            comparisons=None if comparisons is None else {str(k): int(v) for k, v in comparisons.items()},
        )
