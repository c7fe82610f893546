"""The CI gate: thresholds from flags or a TOML file, checked against a report (and a baseline report)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# re-exported: the gate's limits live in thresholds.py, its results in gate_result.py; callers import them here too
from edgekit.benchmarks.gate_result import BaselineInfo, Breach, GateResult
from edgekit.benchmarks.latency import smallest_batch
from edgekit.benchmarks.thresholds import Thresholds, load_thresholds, merge
from edgekit.errors import GateError, UsageError

if TYPE_CHECKING:  # the report's types hold the gate's; the gate only reads theirs
    from edgekit.benchmarks.env import Environment
    from edgekit.benchmarks.results import ArtifactResult, BenchReport

__all__ = [
    "BaselineInfo",
    "Breach",
    "Evaluation",
    "GateResult",
    "Thresholds",
    "baseline_summary",
    "compare",
    "evaluate",
    "gate",
    "load_thresholds",
    "merge",
    "raise_for_breaches",
]


@dataclass(frozen=True)
class Evaluation:
    """Every breach, and per threshold how many artifacts it was checked on."""

    breaches: tuple[Breach, ...]
    comparisons: dict[str, int]


def gate(
    report: BenchReport, thresholds: Thresholds, baseline: BenchReport | None = None, baseline_path: Path | None = None
) -> GateResult:
    """The gate over a report's rows: every breach, the comparison counts, and where the baseline came from."""
    # without a Keras model the reference is one of the rows: its drift against itself checks nothing
    itself = None if report.reference.is_keras else report.reference.name
    checked = compare(report.artifacts, thresholds, baseline.artifacts if baseline else (), reference_row=itself)
    summary = baseline_summary(report.environment, baseline, baseline_path)
    counted = checked.comparisons if thresholds.active() else None  # no threshold: nothing to count, as before
    return GateResult(thresholds.active(), summary, checked.breaches, counted)


def evaluate(
    artifacts: Sequence[ArtifactResult], thresholds: Thresholds, baseline: Sequence[ArtifactResult] = ()
) -> tuple[Breach, ...]:
    """Every breach of the artifacts' rows (and against the baseline's rows); an empty tuple passes."""
    return compare(artifacts, thresholds, baseline).breaches


def compare(
    artifacts: Sequence[ArtifactResult],
    thresholds: Thresholds,
    baseline: Sequence[ArtifactResult] = (),
    reference_row: str | None = None,
) -> Evaluation:
    """Check every row (the ``reference_row``, drift is measured against, for latency only); a threshold that
    could be checked on no artifact is a UsageError, never a pass."""
    old_rows = {r.name: r for r in baseline}
    counts = dict.fromkeys(thresholds.active(), 0)
    breaches: list[Breach] = []
    for row in artifacts:
        breaches += _against_reference(row, thresholds, counts, drift=row.name != reference_row)
        old = old_rows.get(row.name)
        if old is not None:
            breaches += _against_baseline(row, old, thresholds, counts)
    for key, count in counts.items():
        if count == 0:
            raise UsageError(f"threshold {key} compared nothing: {_why_nothing(key, artifacts, baseline)}", _HINTS[key])
    return Evaluation(tuple(breaches), counts)


_BASELINE_HINT = "compare with a report.json of `edgekit bench` on the same artifacts (names like tflite-int8)"
_HINTS = {
    "max_accuracy_drop": None,
    "min_agreement": None,
    "max_latency_ms": None,
    "max_slowdown": _BASELINE_HINT + ", measured at the same smallest batch size",
    "max_accuracy_regression": _BASELINE_HINT,
}


def _why_nothing(key: str, artifacts: Sequence[ArtifactResult], baseline: Sequence[ArtifactResult]) -> str:
    names = [r.name for r in artifacts]
    if not artifacts:
        return "the report holds no artifacts"
    if key not in ("max_slowdown", "max_accuracy_regression"):
        return "no artifact has a finite value for it"
    if not baseline:
        return "the baseline holds no artifacts"
    shared = sorted(set(names) & {r.name for r in baseline})
    if not shared:
        return (
            f"the baseline shares no artifact with this report (baseline: {', '.join(r.name for r in baseline)}; "
            f"this report: {', '.join(names)})"
        )
    what = "a p50 above 0 at the report's smallest batch size" if key == "max_slowdown" else "a finite accuracy"
    return f"no artifact the baseline shares with this report ({', '.join(shared)}) has {what} in both"


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _against_reference(
    row: ArtifactResult, thresholds: Thresholds, counts: dict[str, int], drift: bool = True
) -> list[Breach]:
    name, small = row.name, smallest_batch(row.latency)
    found = _drift_breaches(row, thresholds, counts) if drift else []
    if thresholds.max_latency_ms is not None and small and _finite(small.p90_ms):
        counts["max_latency_ms"] += 1
        if small.p90_ms > thresholds.max_latency_ms:
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


def _drift_breaches(row: ArtifactResult, thresholds: Thresholds, counts: dict[str, int]) -> list[Breach]:
    found = []
    name, drift = row.name, row.drift
    drop = -drift.accuracy_delta_points
    if thresholds.max_accuracy_drop is not None and _finite(drop):
        counts["max_accuracy_drop"] += 1
        if drop > thresholds.max_accuracy_drop:
            found.append(
                Breach(
                    name,
                    "max_accuracy_drop",
                    drop,
                    thresholds.max_accuracy_drop,
                    f"{name}: accuracy {drop:.2f} points below the reference (limit {thresholds.max_accuracy_drop})",
                )
            )
    if thresholds.min_agreement is not None and _finite(drift.agreement):
        counts["min_agreement"] += 1
        if drift.agreement < thresholds.min_agreement:
            found.append(
                Breach(
                    name,
                    "min_agreement",
                    drift.agreement,
                    thresholds.min_agreement,
                    f"{name}: top-1 agreement {drift.agreement:.4f} < {thresholds.min_agreement}",
                )
            )
    return found


def _against_baseline(
    row: ArtifactResult, old: ArtifactResult, thresholds: Thresholds, counts: dict[str, int]
) -> list[Breach]:
    """Slowdown at the same batch size (the report's smallest), accuracy regression; only where both are finite."""
    found = []
    name, small = row.name, smallest_batch(row.latency)
    old_small = old.latency.get(small.batch_size) if small else None
    comparable = bool(small and old_small and _finite(small.p50_ms, old_small.p50_ms) and old_small.p50_ms > 0)
    if thresholds.max_slowdown is not None and comparable and small and old_small:
        counts["max_slowdown"] += 1
        ratio = small.p50_ms / old_small.p50_ms
        if ratio > thresholds.max_slowdown:
            found.append(
                Breach(
                    name,
                    "max_slowdown",
                    ratio,
                    thresholds.max_slowdown,
                    f"{name}: p50 {ratio:.2f}x the baseline's at batch {small.batch_size} "
                    f"(limit {thresholds.max_slowdown}x)",
                )
            )
    if thresholds.max_accuracy_regression is not None and _finite(old.drift.accuracy, row.drift.accuracy):
        counts["max_accuracy_regression"] += 1
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
