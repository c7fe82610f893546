"""report.json and report.md: what a person reads in CI, and what a machine reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgekit.benchmarks.latency import LatencyStats
from edgekit.benchmarks.report_costs import costs_section, macs_text, memory_text
from edgekit.benchmarks.results import SCHEMA_VERSION, ArtifactResult, BenchReport
from edgekit.errors import ModelError, UsageError
from edgekit.files import write_error

SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
MAX_REPORT_BYTES = 64 << 20  # a report.json is tens of KiB; this bounds what a baseline read may cost


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} us" if value < 1 else f"{value:.2f} ms"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(report: BenchReport) -> str:
    """The Markdown report: one row per artifact, then drift, per-class, gate and environment sections."""
    return "\n".join(
        _summary(report)
        + _artifact_table(report)
        + costs_section(report)
        + _drift_section(report)
        + _per_class_section(report)
        + _gate_section(report)
        + _environment_section(report)
    )


def _summary(report: BenchReport) -> list[str]:
    batches, small = report.config.batch_sizes, report.config.smallest_batch
    ref, data = report.reference, report.dataset
    speedup = ref.predict_p50_vs_tflite_int8
    title = [
        f"# edgekit bench: {report.model} on {data.name} ({data.split} split, {data.images} images, "
        f"source {data.source})",
        "",
    ]
    if data.evaluation_note:
        title += [f"⚠️ {data.evaluation_note}.", ""]
    stale = [r.name for r in report.artifacts if r.stale]
    if stale:
        title += [f"⚠️ Stale: {', '.join(stale)} were converted from another model than this reference.", ""]
    if not ref.is_keras:
        alone = f"No Keras model was benched: drift is measured against `{ref.name}` ({ref.file}), accuracy "
        return [*title, alone + f"{ref.accuracy:.2%}.", "", _LATENCY_NOTE, ""]
    return [
        *title,
        f"Keras reference on {ref.device}: accuracy {ref.accuracy:.2%}; `model.predict` p50 "
        + ", ".join(f"{_ms(ref.predict_latency[b].p50_ms)} (batch {b})" for b in batches)
        + "; direct call p50 "
        + ", ".join(f"{_ms(ref.call_latency[b].p50_ms)} (batch {b})" for b in batches)
        + "."
        + (f" `model.predict` takes {speedup:,}x as long as tflite-int8 at batch {small}." if speedup else ""),
        "",
        _LATENCY_NOTE,
        "",
    ]


_LATENCY_NOTE = (
    "Latency is one interpreter call on ready input (set_tensor + invoke + get_tensor, or session.run); "
    "`Model.predict` from uint8 images adds preprocessing (its p50 is in report.json as end_to_end_p50_ms)."
)


def _artifact_table(report: BenchReport) -> list[str]:
    batches, small = report.config.batch_sizes, report.config.smallest_batch
    header = (
        [
            "artifact",
            "format",
            "mode",
            "size",
            "vs f32",
            "accuracy",
            "Δ acc (pts)",
            "agreement",
            f"p50 b{small}",
            f"p90 b{small}",
        ]
        + [f"img/s b{b}" for b in batches]
        + ["MACs", "peak mem"]
        + ["backend", "gate"]
    )
    lines = [_row(header), "|" + "---|" * len(header)]
    for row in report.artifacts:
        d, s = row.drift, row.latency.get(small)
        cells = [
            f"`{row.name}`" + (" ⚠️ stale" if row.stale else ""),
            row.format.value,
            row.mode.value,
            f"{row.size_bytes / 1024:,.0f} KiB",
            f"{row.size_ratio_vs_float32:.2f}x" if row.size_ratio_vs_float32 else "-",
            f"{d.accuracy:.2%}",
            f"{d.accuracy_delta_points:+.2f}",
            f"{d.agreement:.2%}",
            _ms(s.p50_ms) if s else "-",
            _ms(s.p90_ms) if s else "-",
        ]
        cells += [_images_per_second(row.latency.get(b)) for b in batches]
        cells += [macs_text(row.macs.total) if row.macs else "-", memory_text(row, heap=False)]
        cells += [f"{row.backend} {row.backend_version or ''}".strip(), _gate_cell(row)]
        lines.append(_row(cells))
    return lines


def _images_per_second(stats: LatencyStats | None) -> str:
    return f"{stats.images_per_second:,.0f}" if stats else "-"


def _gate_cell(row: ArtifactResult) -> str:
    return "❌ " + ", ".join(b.check for b in row.breaches) if row.breaches else "✅"


def _drift_section(report: BenchReport) -> list[str]:
    lines = [
        "",
        "## Drift against the "
        + ("Keras reference" if report.reference.is_keras else f"reference {report.reference.name}"),
        "",
        "| artifact | disagreements | max abs Δp | mean abs Δp | mean KL (nats) | p50 / best raw invoke |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.artifacts:
        d, ratio = row.drift, row.p50_vs_raw_invoke_best
        shown = ", ".join(str(i) for i in d.disagreeing_indices[:10]) + (" …" if d.disagreements > 10 else "")
        lines.append(
            f"| `{row.name}` | {d.disagreements}{f' ({shown})' if shown else ''} | "
            f"{d.max_abs_prob_diff:.2e} | {d.mean_abs_prob_diff:.2e} | {d.mean_kl_divergence:.2e} | "
            f"{f'{ratio:.2f}x' if ratio else '-'} |"
        )
    return lines


def _per_class_section(report: BenchReport) -> list[str]:
    names = report.class_names
    ref = report.reference
    keras = ["-" if a is None else f"{a:.1%}" for a in ref.per_class_accuracy]
    lines = [
        "",
        f"## Per-class accuracy delta (points vs {ref.label})",
        "",
        _row(["artifact", *names]),
        "|---|" + "---|" * len(names),
        _row([f"{ref.label} (accuracy)", *keras]),
    ]
    for row in report.artifacts:
        deltas = ["-" if v is None else f"{v:+.1f}" for v in row.drift.per_class_delta_points]
        lines.append(_row([f"`{row.name}`", *deltas]))
    return lines


def _gate_section(report: BenchReport) -> list[str]:
    gate = report.gate
    lines = ["", "## Gate", ""]
    if not gate.thresholds:
        return [*lines, "No thresholds set."]
    counted = gate.comparisons or {}
    lines.append(
        "Thresholds: "
        + ", ".join(
            f"`{k}` = {v}" + (f" ({counted[k]} comparison{'s' if counted[k] != 1 else ''})" if k in counted else "")
            for k, v in gate.thresholds.items()
        )
        + "."
    )
    if gate.baseline:
        lines.append(
            f"Baseline: {gate.baseline.path} ({gate.baseline.created_at}). " + (gate.baseline.note or "Same machine.")
        )
    lines.append("")
    drifted = sorted({b.artifact for b in gate.breaches if "accuracy" in b.check or "agreement" in b.check})
    files = [r.file for r in report.artifacts if r.name in drifted]
    # explain compares with the Keras model: without one (artifacts alone) there is nothing it could run
    explain = [f"- which layer drifts: `edgekit explain {report.run_dir} {' '.join(files)}`"] if files else []
    if not report.reference.is_keras:
        explain = []
    return lines + ([f"- ❌ {b.message}" for b in gate.breaches] or ["✅ all thresholds met."]) + explain


def _environment_section(report: BenchReport) -> list[str]:
    env = report.environment
    lines = [
        "",
        "## Environment",
        "",
        f"{env.cpu_model}, {env.cpu_cores} cores, {env.threads} thread(s) per interpreter, "
        f"{env.os} {env.arch}, Python {env.python}; peak RSS {report.peak_rss_mb} MiB.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in env.versions.items()) + ".",
        "",
    ]
    if report.plots:
        lines += ["Plots: " + ", ".join(f"[{k}]({v})" for k, v in report.plots.items()) + ".", ""]
    return lines


def write_step_summary(markdown: str) -> bool:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions provides it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    except OSError as exc:
        raise write_error(Path(target), exc) from None
    return True


def load_report(path: Path) -> BenchReport:
    """A report.json (e.g. a baseline), checked for the schema versions edgekit reads; one UsageError if not."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"baseline {path} does not exist")
    if not path.is_file():
        raise UsageError(f"baseline {path} is not a regular file", "pass the report.json of an earlier `edgekit bench`")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise UsageError(f"baseline {path} is {path.stat().st_size:,} bytes, too big for a bench report")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"baseline {path} is not JSON: {type(exc).__name__} {str(exc)[:200]}") from None
    not_one = f"{path} is not an edgekit bench report (schema version {SCHEMA_VERSION})"
    if not isinstance(data, dict) or data.get("schema") != "edgekit.bench":
        raise UsageError(not_one + (f": it holds a JSON {type(data).__name__}" if not isinstance(data, dict) else ""))
    try:
        report = BenchReport.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, ModelError) as exc:
        raise UsageError(f"{not_one} this edgekit reads: {type(exc).__name__} {str(exc)[:200]}") from None
    if not report.artifacts:
        raise UsageError(f"baseline {path} holds no artifacts: there is nothing to compare with")
    return report
