"""The CI gate: thresholds from flags or a TOML file, checked against a report (and a baseline report)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from edgekit.benchmarks.env import machine_fingerprint
from edgekit.errors import GateError, UsageError


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

    def validate(self) -> None:
        for key, value in self.active().items():
            if value < 0 or (key == "min_agreement" and value > 1) or (key == "max_slowdown" and value <= 0):
                raise UsageError(f"threshold {key} = {value} makes no sense",
                                 "min_agreement is a fraction in [0, 1]; the others are non-negative")


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


def _smallest_batch(row: dict[str, Any]) -> dict[str, Any] | None:
    latency = row.get("latency") or {}
    if not latency:
        return None
    return latency[min(latency, key=int)]


def evaluate(report: dict[str, Any], thresholds: Thresholds,
             baseline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every breach, as {artifact, check, value, limit, message}; an empty list passes."""
    breaches: list[dict[str, Any]] = []

    def breach(artifact: str, check: str, value: float, limit: float, message: str) -> None:
        breaches.append({"artifact": artifact, "check": check, "value": value, "limit": limit, "message": message})

    old_rows = {r["name"]: r for r in (baseline or {}).get("artifacts", [])}
    for row in report["artifacts"]:
        name, drift = row["name"], row["drift"]
        drop = -drift["accuracy_delta_points"]
        if thresholds.max_accuracy_drop is not None and drop > thresholds.max_accuracy_drop:
            breach(name, "max_accuracy_drop", drop, thresholds.max_accuracy_drop,
                   f"{name}: accuracy {drop:.2f} points below Keras (limit {thresholds.max_accuracy_drop})")
        if thresholds.min_agreement is not None and drift["agreement"] < thresholds.min_agreement:
            breach(name, "min_agreement", drift["agreement"], thresholds.min_agreement,
                   f"{name}: top-1 agreement {drift['agreement']:.4f} < {thresholds.min_agreement}")
        small = _smallest_batch(row)
        if thresholds.max_latency_ms is not None and small and small["p90_ms"] > thresholds.max_latency_ms:
            breach(name, "max_latency_ms", small["p90_ms"], thresholds.max_latency_ms,
                   f"{name}: p90 {small['p90_ms']:.4f} ms at batch {small['batch_size']} > {thresholds.max_latency_ms} ms")
        old = old_rows.get(name)
        if old is None:
            continue
        old_small = _smallest_batch(old)
        if thresholds.max_slowdown is not None and small and old_small and old_small["p50_ms"] > 0:
            ratio = small["p50_ms"] / old_small["p50_ms"]
            if ratio > thresholds.max_slowdown:
                breach(name, "max_slowdown", ratio, thresholds.max_slowdown,
                       f"{name}: p50 {ratio:.2f}x the baseline's (limit {thresholds.max_slowdown}x)")
        if thresholds.max_accuracy_regression is not None:
            regression = (old["drift"]["accuracy"] - drift["accuracy"]) * 100
            if regression > thresholds.max_accuracy_regression:
                breach(name, "max_accuracy_regression", regression, thresholds.max_accuracy_regression,
                       f"{name}: accuracy {regression:.2f} points below the baseline's "
                       f"(limit {thresholds.max_accuracy_regression})")
    return breaches


def baseline_summary(report: dict[str, Any], baseline: dict[str, Any] | None, path: Path | None) -> dict | None:
    """Where the baseline came from and whether its latencies are comparable with this machine's."""
    if baseline is None:
        return None
    same = machine_fingerprint(report["environment"]) == machine_fingerprint(baseline.get("environment", {}))
    return {
        "path": str(path) if path else None,
        "created_at": baseline.get("created_at"),
        "same_machine": same,
        "note": None if same else (
            "the baseline was measured on another machine (CPU, cores, arch or threads differ): "
            "latency comparisons are indicative only"),
    }


def raise_for_breaches(breaches: list[dict[str, Any]]) -> None:
    """GateError (exit 3) listing every breach."""
    if breaches:
        raise GateError(f"{len(breaches)} threshold breach(es): " + "; ".join(b["message"] for b in breaches),
                        "see the report's Gate section; exit code 3 means thresholds were breached")
