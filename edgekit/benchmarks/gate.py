"""The CI gate: thresholds from flags or a TOML file, checked against a report (and a baseline report)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

from edgekit.benchmarks.latency import smallest_batch
from edgekit.errors import GateError, UsageError

if TYPE_CHECKING:  # the report's types hold the gate's; the gate only reads theirs
    from edgekit.benchmarks.env import Environment
    from edgekit.benchmarks.results import ArtifactResult, BenchReport


@dataclass(frozen=True)
class Thresholds:
    """Limits a benchmark must stay within; None means unchecked."""

    max_accuracy_drop: float | None = None  # points below the Keras reference
    min_agreement: float | None = None  # top-1 agreement with the Keras reference, fraction
    max_latency_ms: float | None = None  # p90 at the smallest batch size
    max_slowdown: float | None = None  # p50 at the smallest batch size / the baseline's, ratio
    max_accuracy_regression: float | None = None  # points below the baseline's accuracy

    def active(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def needs_baseline(self) -> bool:
        """Whether a threshold compares with an earlier report."""
        return self.max_slowdown is not None or self.max_accuracy_regression is not None

    def validate(self) -> None:
        for key, value in self.active().items():
            if value < 0 or (key == "min_agreement" and value > 1) or (key == "max_slowdown" and value <= 0):
                raise UsageError(
                    f"threshold {key} = {value} makes no sense",
                    "min_agreement is a fraction in [0, 1]; the others are non-negative",
                )


def load_thresholds(path: Path) -> Thresholds:
    """Thresholds from a TOML file: keys at the top level or under [gate], dashes or underscores."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"threshold file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"threshold file {path} is not valid TOML: {exc}") from exc
    table = data.get("gate", data)
    known = {f.name for f in fields(Thresholds)}
    values = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown threshold(s) in {path}: {', '.join(unknown)}", f"known: {', '.join(sorted(known))}")
    try:
        return Thresholds(**{k: float(v) for k, v in values.items()})
    except (TypeError, ValueError) as exc:
        raise UsageError(f"thresholds in {path} must be numbers: {exc}") from exc


def merge(base: Thresholds, **flags: float | None) -> Thresholds:
    """Flags given on the command line win over the file's values."""
    return replace(base, **{k: v for k, v in flags.items() if v is not None})


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
    """The thresholds that were set, the baseline compared with, and every breach."""

    thresholds: dict[str, float]
    baseline: BaselineInfo | None
    breaches: tuple[Breach, ...]

    @property
    def passed(self) -> bool:
        return not self.breaches

    def for_artifact(self, name: str) -> tuple[Breach, ...]:
        return tuple(b for b in self.breaches if b.artifact == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": dict(self.thresholds),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "breaches": [b.to_dict() for b in self.breaches],
            "passed": self.passed,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> GateResult:
        baseline = data["baseline"]
        return GateResult(
            thresholds={str(k): float(v) for k, v in data["thresholds"].items()},
            baseline=BaselineInfo.from_dict(baseline) if baseline else None,
            breaches=tuple(Breach.from_dict(b) for b in data["breaches"]),
        )


def evaluate(
    artifacts: Sequence[ArtifactResult], thresholds: Thresholds, baseline: Sequence[ArtifactResult] = ()
) -> tuple[Breach, ...]:
    """Every breach of the artifacts' rows (and against the baseline's rows); an empty tuple passes."""
    old_rows = {r.name: r for r in baseline}
    breaches: list[Breach] = []
    for row in artifacts:
        breaches += _against_reference(row, thresholds)
        old = old_rows.get(row.name)
        if old is not None:
            breaches += _against_baseline(row, old, thresholds)
    return tuple(breaches)


def _against_reference(row: ArtifactResult, thresholds: Thresholds) -> list[Breach]:
    found = []
    name, drift, small = row.name, row.drift, smallest_batch(row.latency)
    drop = -drift.accuracy_delta_points
    if thresholds.max_accuracy_drop is not None and drop > thresholds.max_accuracy_drop:
        found.append(
            Breach(
                name,
                "max_accuracy_drop",
                drop,
                thresholds.max_accuracy_drop,
                f"{name}: accuracy {drop:.2f} points below Keras (limit {thresholds.max_accuracy_drop})",
            )
        )
    if thresholds.min_agreement is not None and drift.agreement < thresholds.min_agreement:
        found.append(
            Breach(
                name,
                "min_agreement",
                drift.agreement,
                thresholds.min_agreement,
                f"{name}: top-1 agreement {drift.agreement:.4f} < {thresholds.min_agreement}",
            )
        )
    if thresholds.max_latency_ms is not None and small and small.p90_ms > thresholds.max_latency_ms:
        found.append(
            Breach(
                name,
                "max_latency_ms",
                small.p90_ms,
                thresholds.max_latency_ms,
                f"{name}: p90 {small.p90_ms:.4f} ms at batch {small.batch_size} > {thresholds.max_latency_ms} ms",
            )
        )
    return found


def _against_baseline(row: ArtifactResult, old: ArtifactResult, thresholds: Thresholds) -> list[Breach]:
    found = []
    name, small, old_small = row.name, smallest_batch(row.latency), smallest_batch(old.latency)
    if thresholds.max_slowdown is not None and small and old_small and old_small.p50_ms > 0:
        ratio = small.p50_ms / old_small.p50_ms
        if ratio > thresholds.max_slowdown:
            found.append(
                Breach(
                    name,
                    "max_slowdown",
                    ratio,
                    thresholds.max_slowdown,
                    f"{name}: p50 {ratio:.2f}x the baseline's (limit {thresholds.max_slowdown}x)",
                )
            )
    if thresholds.max_accuracy_regression is not None:
        regression = (old.drift.accuracy - row.drift.accuracy) * 100
        if regression > thresholds.max_accuracy_regression:
            found.append(
                Breach(
                    name,
                    "max_accuracy_regression",
                    regression,
                    thresholds.max_accuracy_regression,
                    f"{name}: accuracy {regression:.2f} points below the baseline's "
                    f"(limit {thresholds.max_accuracy_regression})",
                )
            )
    return found


def baseline_summary(environment: Environment, baseline: BenchReport | None, path: Path | None) -> BaselineInfo | None:
    """Where the baseline came from and whether its latencies are comparable with this machine's."""
    if baseline is None:
        return None
    same = environment.fingerprint() == baseline.environment.fingerprint()
    return BaselineInfo(
        path=str(path) if path else None,
        created_at=baseline.created_at,
        same_machine=same,
        note=None
        if same
        else (
            "the baseline was measured on another machine (CPU, cores, arch or threads differ): "
            "latency comparisons are indicative only"
        ),
    )


def raise_for_breaches(breaches: Sequence[Breach]) -> None:
    """GateError (exit 3) listing every breach."""
    if breaches:
        raise GateError(
            f"{len(breaches)} threshold breach(es): " + "; ".join(b.message for b in breaches),
            "see the report's Gate section; exit code 3 means thresholds were breached",
        )
