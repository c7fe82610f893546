"""`edgekit bench`: latency, size and drift of every artifact against the Keras reference, in one process.

``bench()`` runs named steps: load, measure the reference, measure each artifact, compare sizes,
gate, assemble the report, plot, write.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.alone import evaluate_reference_artifact, load_alone, reference_from_row
from edgekit.benchmarks.artifacts import measure_artifact
from edgekit.benchmarks.config import BenchConfig
from edgekit.benchmarks.env import environment, peak_rss_mb
from edgekit.benchmarks.gate import Breach, GateResult, Thresholds, gate
from edgekit.benchmarks.measure import EvaluationSet, Loaded, ReferenceMeasurement, load_for_bench, measure_reference
from edgekit.benchmarks.report import render_markdown, write_step_summary
from edgekit.benchmarks.results import ArtifactResult, BenchReport, ReferenceResult, ReportConfig
from edgekit.benchmarks.targets import BenchTarget, bench_target
from edgekit.convert.inputs import DataSources
from edgekit.errors import UsageError
from edgekit.files import ensure_dir, write_bytes_atomic, write_json_atomic
from edgekit.formats import Quantization
from edgekit.progress import Reporter, SilentReporter

Baseline = tuple[BenchReport, Path]  # an earlier report and where it was read from


@dataclass(frozen=True)
class BenchResult:
    """A finished benchmark: the report as data and where its files are."""

    report: BenchReport
    out_dir: Path
    json_path: Path
    markdown_path: Path

    @property
    def breaches(self) -> tuple[Breach, ...]:
        return self.report.gate.breaches

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "json": str(self.json_path),
            "markdown": str(self.markdown_path),
            "breaches": [b.to_dict() for b in self.breaches],
        }


def bench(
    target: Path,
    config: BenchConfig | None = None,
    *,
    thresholds: Thresholds | None = None,
    baseline: Baseline | None = None,
    sources: DataSources | None = None,
    reporter: Reporter | None = None,
) -> BenchResult:
    """Benchmark what ``target`` names (a run folder; a Keras model and ``config.artifacts``; or artifacts
    alone, see ``benchmarks.targets``) against its reference; write JSON, Markdown and plots.

    ``baseline``: an earlier report and its path; ``sources``: where the images come from.
    """
    config = config or BenchConfig()
    config.validate()
    thresholds = thresholds or Thresholds()
    thresholds.validate()
    if thresholds.needs_baseline and baseline is None:
        raise UsageError("--max-slowdown and --max-accuracy-regression need --baseline OLD_report.json")
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    what = bench_target(Path(target), config.artifacts)
    out = ensure_dir(Path(config.out_dir) if config.out_dir is not None else what.default_out)
    sources = sources or DataSources()
    if what.reference is None:
        loaded = load_alone(what, config, sources, reporter)
    else:
        loaded = load_for_bench(what.reference, config, sources, reporter)
    reference, rows, answers = _measure(what, loaded, config, reporter)
    report = _assemble(loaded, config, reference, with_size_ratios(rows))
    report = _gated(report, thresholds, baseline)
    if config.plots:
        report = replace(report, plots=_plots(report, reference.evaluation, answers, out))
    report = replace(report, peak_rss_mb=peak_rss_mb(), total_seconds=round(time.perf_counter() - started, 2))
    return write_report(report, out)


def _measure(
    what: BenchTarget, loaded: Loaded, config: BenchConfig, reporter: Reporter
) -> tuple[ReferenceMeasurement, list[ArtifactResult], dict[str, np.ndarray]]:
    """The reference and every artifact, measured on the same images in this process."""
    keras = what.reference is not None
    reporter.start("benchmarking", len(what.artifacts) + keras)
    try:
        if keras:
            reference = measure_reference(loaded, config)
            reporter.advance(1, "keras")
            evaluation = reference.evaluation
        else:
            evaluation = evaluate_reference_artifact(loaded)
        rows: list[ArtifactResult] = []
        answers: dict[str, np.ndarray] = {}
        for path in what.artifacts:
            measured = measure_artifact(path, config, evaluation, getattr(loaded.reference, "sha256", None))
            row = replace(measured.result, name=_unique(measured.result.name, path, answers))
            rows.append(row)
            answers[row.name] = measured.predicted
            reporter.advance(1, row.name)
    finally:
        reporter.finish()
    if not keras:
        first = what.artifacts.index(loaded.reference.path)
        reference = reference_from_row(loaded, evaluation, rows[first])
    return reference, rows, answers


def _unique(name: str, path: Path, taken: Mapping[str, object]) -> str:
    """A row name not used yet: two foreign files with the same stem are told apart by their file names."""
    return name if name not in taken else path.name if path.name not in taken else str(path)


def with_size_ratios(rows: Sequence[ArtifactResult]) -> tuple[ArtifactResult, ...]:
    """Each row with its size as a fraction of the same format's float32 artifact (None without one)."""
    float_sizes = {r.format: r.size_bytes for r in rows if r.mode is Quantization.NONE}
    return tuple(
        replace(
            r, size_ratio_vs_float32=round(r.size_bytes / float_sizes[r.format], 4) if r.format in float_sizes else None
        )
        for r in rows
    )


def _with_int8_speedup(reference: ReferenceResult, rows: Sequence[ArtifactResult], batch: int) -> ReferenceResult:
    """How much faster the edge artifact is than the usual way of calling Keras."""
    int8 = next((r for r in rows if r.name == "tflite-int8"), None)
    if int8 is None or not reference.is_keras:
        return reference
    ratio = reference.predict_latency[batch].p50_ms / int8.latency[batch].p50_ms
    return replace(reference, predict_p50_vs_tflite_int8=round(ratio, 1))


def _assemble(
    loaded: Loaded, config: BenchConfig, reference: ReferenceMeasurement, rows: tuple[ArtifactResult, ...]
) -> BenchReport:
    """The report before the gate, the plots and the final timings are known."""
    run = loaded.reference.run
    return BenchReport(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        run_dir=str(loaded.run_dir),
        model=run.model if run else loaded.reference.path.stem,
        class_names=tuple(loaded.contract.class_names),
        contract=loaded.contract,
        dataset=loaded.dataset,
        config=ReportConfig(
            split=config.split, threads=config.threads, batch_sizes=config.batch_sizes, timing=config.policy
        ),
        environment=environment(config.threads),
        reference=_with_int8_speedup(reference.result, rows, config.smallest_batch),
        artifacts=rows,
        evaluation_seconds=round(reference.result.eval_seconds + sum(r.eval_seconds for r in rows), 4),
        gate=GateResult(thresholds={}, baseline=None, breaches=()),
        peak_rss_mb=0.0,
        total_seconds=0.0,
    )


def _gated(report: BenchReport, thresholds: Thresholds, baseline: Baseline | None) -> BenchReport:
    """The report with every breach of the thresholds (and of the baseline), marked on its rows too."""
    old, old_path = baseline if baseline else (None, None)
    result = gate(report, thresholds, old, old_path)
    rows = tuple(replace(r, breaches=result.for_artifact(r.name)) for r in report.artifacts)
    return replace(report, artifacts=rows, gate=result)


def write_report(report: BenchReport, target: Path) -> BenchResult:
    """report.json and report.md in ``target``, and the Markdown in the CI job summary when there is one."""
    markdown = render_markdown(report)
    json_path, md_path = target / "report.json", target / "report.md"
    write_json_atomic(json_path, report.to_dict())
    write_bytes_atomic(md_path, markdown.encode("utf-8"))
    write_step_summary(markdown)
    return BenchResult(report, target, json_path, md_path)


def _plots(
    report: BenchReport, evaluation: EvaluationSet, answers: Mapping[str, np.ndarray], target: Path
) -> dict[str, str]:
    from edgekit.benchmarks import plots

    made = {"latency": "latency.png", "accuracy_vs_size": "accuracy-vs-size.png"}
    plots.latency_plot(report, target / made["latency"])
    plots.accuracy_size_plot(report, target / made["accuracy_vs_size"])
    int8 = next((r for r in report.artifacts if r.mode is Quantization.INT8), None)
    if int8:
        made["confusion_diff"] = f"confusion-diff-{int8.name}.png"
        plots.confusion_diff_plot(int8, evaluation, target / made["confusion_diff"])
    if plots.disagreements_plot(evaluation, answers, target / "disagreements.png"):
        made["disagreements"] = "disagreements.png"
    return made
