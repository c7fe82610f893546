"""`edgekit bench`: latency, size and drift of every artifact against the Keras reference, in one process."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.drift import confusion_matrix, drift, per_class_accuracy
from edgekit.benchmarks.env import environment, peak_rss_mb, rss_mb
from edgekit.benchmarks.gate import Thresholds, baseline_summary, evaluate
from edgekit.benchmarks.latency import TimingPolicy, summarize, time_calls
from edgekit.benchmarks.report import (
    SCHEMA_VERSION,
    render_markdown,
    write_step_summary,
)
from edgekit.convert.inputs import DataSources
from edgekit.errors import ArtifactError, UsageError
from edgekit.files import ensure_dir, write_bytes_atomic, write_json_atomic
from edgekit.formats import Quantization, format_of_path
from edgekit.layout import RunLayout, all_artifact_file_names, artifact_name
from edgekit.progress import Reporter, SilentReporter

BENCH_DIR = "bench"
KERAS_POLICY = TimingPolicy(warmup_runs=3, min_runs=20, min_seconds=0.3, max_seconds=3.0)


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

    def validate(self) -> None:
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise UsageError(f"batch sizes must be positive, got {list(self.batch_sizes)}")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {self.threads}")


@dataclass(frozen=True)
class BenchReport:
    """A finished benchmark: the report as data and where its files are."""

    report: dict[str, Any]
    out_dir: Path
    json_path: Path
    markdown_path: Path
    breaches: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "json": str(self.json_path), "markdown": str(self.markdown_path),
                "breaches": list(self.breaches)}


def find_artifacts(run_dir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The run's artifacts in table order, or the ones named (by name or path)."""
    layout = RunLayout(run_dir)
    if not wanted:
        found = layout.existing_artifacts()
        if not found:
            raise ArtifactError(f"no artifacts in {layout.artifacts_dir}", f"run `edgekit convert {run_dir}` first")
        return found
    names = {n.rsplit(".", 1)[0]: n for n in all_artifact_file_names()}
    paths = []
    for item in wanted:
        path = Path(item) if format_of_path(item) else layout.artifacts_dir / names.get(item, f"{item}.?")
        if not path.is_file():
            available = ", ".join(p.stem for p in layout.existing_artifacts()) or "none"
            raise ArtifactError(f"artifact {item} not found ({path})", f"available: {available}")
        paths.append(path)
    return paths


def _keras_latency(model: Any, images: np.ndarray, batch_sizes: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"predict": {}, "call": {}}
    for b in batch_sizes:
        x = images[np.arange(b) % len(images)]
        out["predict"][str(b)] = summarize(time_calls(lambda: model.predict(x, verbose=0), KERAS_POLICY), b)
        out["call"][str(b)] = summarize(time_calls(lambda: model(x, training=False), KERAS_POLICY), b)
    return out


def _raw_invoke_best_ms(path: Path, backend: str, threads: int | None, model_input: np.ndarray,
                        policy: TimingPolicy) -> float | None:
    """Best-case bare invoke() of a fresh interpreter of the same backend: the floor for batch-1 latency."""
    from edgekit.runtime.model import TFLITE_BACKENDS

    # tensorflow.lite is left out: its module path differs, and a device never runs it
    module = {name: module for name, module, _ in TFLITE_BACKENDS if name != "tensorflow"}.get(backend)
    if module is None:
        return None
    from edgekit.native_output import quiet_native_output

    with quiet_native_output():
        interpreter = importlib.import_module(module).Interpreter(model_path=str(path), num_threads=threads)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], list(model_input.shape), strict=False)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], model_input)
    return min(time_calls(interpreter.invoke, policy)) / 1e6


def _measure_artifact(path: Path, config: BenchConfig, images: np.ndarray, labels: np.ndarray,
                      reference: tuple[np.ndarray, Any]) -> tuple[dict[str, Any], np.ndarray]:
    from edgekit.runtime import load

    before = rss_mb()
    started = time.perf_counter()
    model = load(path, num_threads=config.threads)
    load_ms = (time.perf_counter() - started) * 1e3
    after = rss_mb()
    started = time.perf_counter()
    prediction = model.predict(images)  # the whole split, uint8 in, as a user would call it
    eval_seconds = time.perf_counter() - started
    latency = {}
    for b in config.batch_sizes:
        batch = images[np.arange(b) % len(images)]
        model_input = model.prepare_input(batch)
        # the artifact's own cost: one interpreter call on ready input, nothing of edgekit's around it
        stats = summarize(time_calls(model.bound_call(model_input), config.policy), b)
        # what a caller of Model.predict sees, preprocessing included
        end_to_end = summarize(time_calls(lambda: model.predict(batch), config.policy), b)
        stats["end_to_end_p50_ms"] = end_to_end["p50_ms"]
        latency[str(b)] = stats
    smallest = min(config.batch_sizes)
    raw_best = _raw_invoke_best_ms(path, model.backend, config.threads,
                                   model.prepare_input(images[np.arange(smallest) % len(images)]), config.policy)
    manifest = model.metadata
    fmt = model.format
    mode = Quantization(manifest.get("mode", "none"))
    row = {
        "name": artifact_name(fmt, mode) if manifest.get("mode") else path.stem,
        "format": fmt.value,
        "mode": mode.value,
        "file": str(path),
        "size_bytes": path.stat().st_size,
        "size_ratio_vs_float32": None,
        "backend": model.backend,
        "backend_version": model.backend_version,
        "threads": config.threads,
        "load_ms": round(load_ms, 3),
        "rss_after_load_mb": after,
        "rss_delta_load_mb": round(after - before, 1) if after is not None and before is not None else None,
        "eval_seconds": round(eval_seconds, 4),
        "latency": latency,
        "raw_invoke_best_ms": raw_best,
        "p50_vs_raw_invoke_best": round(latency[str(smallest)]["p50_ms"] / raw_best, 3) if raw_best else None,
        "drift": drift(reference[0], prediction.outputs, labels, classes=len(model.class_names),
                       output_kind=reference[1].output_kind),
        "breaches": [],
    }
    return row, prediction.labels


def bench(
    run_dir: Path,
    config: BenchConfig | None = None,
    *,
    thresholds: Thresholds | None = None,
    baseline: tuple[dict[str, Any], Path] | None = None,
    sources: DataSources | None = None,
    reporter: Reporter | None = None,
) -> BenchReport:
    """Benchmark the Keras reference and every artifact of a run folder; write JSON, Markdown and plots.

    ``baseline``: an earlier report and its path; ``sources``: where the images come from.
    """
    from edgekit.contract import DeclaredContract
    from edgekit.convert.inputs import load_inputs
    from edgekit.convert.reference import load_reference
    from edgekit.tensorflow_import import describe_device, import_tensorflow

    config = config or BenchConfig()
    config.validate()
    reporter = reporter or SilentReporter()
    thresholds = thresholds or Thresholds()
    thresholds.validate()
    run_dir = Path(run_dir)
    paths = find_artifacts(run_dir, config.artifacts)
    target = ensure_dir(Path(config.out_dir) if config.out_dir is not None else RunLayout(run_dir).bench_dir)
    started_all = time.perf_counter()
    baseline_report, baseline_path = baseline if baseline else (None, None)

    tf = import_tensorflow()
    if config.threads:
        try:  # only possible before TensorFlow runs its first op in this process
            tf.config.threading.set_intra_op_parallelism_threads(config.threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            reporter.notice("TensorFlow was already running in this process (training): Keras timings use its "
                            "default thread count; artifact timings use --threads")
    t0 = time.perf_counter()
    reference = load_reference(run_dir)
    keras_load_ms = (time.perf_counter() - t0) * 1e3
    prepared = load_inputs(reference, sources or DataSources(), config.declared or DeclaredContract(), reporter)
    dataset, contract = prepared.dataset, prepared.contract
    split = dataset.split(config.split)
    images, labels = split.images, split.labels.astype(np.int64)

    reporter.start("benchmarking", len(paths) + 1)
    try:
        t0 = time.perf_counter()
        reference_logits = reference.outputs(contract.model_input(images))
        keras_eval = time.perf_counter() - t0
        reference_pred = reference_logits.argmax(1)
        classes = contract.num_classes
        keras_row = {
            "name": "keras",
            "device": describe_device(),
            "file": str(reference.path),
            "size_bytes": reference.path.stat().st_size,
            "load_ms": round(keras_load_ms, 3),
            "eval_seconds": round(keras_eval, 4),
            "accuracy": float(np.mean(reference_pred == labels)),
            "per_class_accuracy": per_class_accuracy(labels, reference_pred, classes),
            "latency": _keras_latency(reference.model, contract.model_input(images[:max(config.batch_sizes)]),
                                      config.batch_sizes),
        }
        reporter.advance(1, "keras")
        rows, predictions = [], []
        for path in paths:
            row, predicted = _measure_artifact(path, config, images, labels, (reference_logits, contract))
            rows.append(row)
            predictions.append((row["name"], predicted))
            reporter.advance(1, row["name"])
    finally:
        reporter.finish()

    float_sizes = {r["format"]: r["size_bytes"] for r in rows if r["mode"] == Quantization.NONE.value}
    for r in rows:
        base = float_sizes.get(r["format"])
        r["size_ratio_vs_float32"] = round(r["size_bytes"] / base, 4) if base else None

    report: dict[str, Any] = {
        "schema": "edgekit.bench",
        "schema_version": SCHEMA_VERSION,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run_dir": str(run_dir),
        "model": reference.run.model if reference.run else reference.path.stem,
        "class_names": list(contract.class_names),
        "contract": contract.to_dict(),
        "dataset": {"name": dataset.name, "source": dataset.source, "is_full_dataset": dataset.is_full,
                    "split": config.split, "images": int(len(labels)),
                    "evaluation_note": prepared.evaluation_note},
        "config": {"split": config.split, "threads": config.threads, "batch_sizes": list(config.batch_sizes),
                   "timing": {"warmup_runs": config.policy.warmup_runs, "min_runs": config.policy.min_runs,
                              "min_seconds": config.policy.min_seconds, "max_seconds": config.policy.max_seconds}},
        "environment": environment(config.threads),
        "reference": keras_row,
        "artifacts": rows,
        "evaluation_seconds": round(keras_eval + sum(r["eval_seconds"] for r in rows), 4),
    }
    int8 = next((r for r in rows if r["name"] == "tflite-int8"), None)
    smallest = str(min(config.batch_sizes))
    if int8:  # how much faster the edge artifact is than the usual way of calling Keras
        keras_row["predict_p50_vs_tflite_int8"] = round(
            keras_row["latency"]["predict"][smallest]["p50_ms"] / int8["latency"][smallest]["p50_ms"], 1)
    breaches = evaluate(report, thresholds, baseline_report)
    for r in rows:
        r["breaches"] = [b for b in breaches if b["artifact"] == r["name"]]
    report["gate"] = {"thresholds": thresholds.active(),
                      "baseline": baseline_summary(report, baseline_report, baseline_path),
                      "breaches": breaches, "passed": not breaches}

    if config.plots:
        report["plots"] = _plots(report, target, images, labels, reference_pred, predictions)
    report["peak_rss_mb"] = peak_rss_mb()
    report["total_seconds"] = round(time.perf_counter() - started_all, 2)
    markdown = render_markdown(report)
    json_path, md_path = target / "report.json", target / "report.md"
    write_json_atomic(json_path, report)
    write_bytes_atomic(md_path, markdown.encode("utf-8"))
    write_step_summary(markdown)
    return BenchReport(report, target, json_path, md_path, tuple(breaches))


def _plots(report: dict[str, Any], target: Path, images: np.ndarray, labels: np.ndarray,
           reference_pred: np.ndarray, predictions: list[tuple[str, np.ndarray]]) -> dict[str, str]:
    from edgekit.benchmarks import plots

    made = {"latency": "latency.png", "accuracy_vs_size": "accuracy-vs-size.png"}
    plots.latency_plot(report, target / made["latency"])
    plots.accuracy_size_plot(report, target / made["accuracy_vs_size"])
    int8 = next((r["name"] for r in report["artifacts"] if r["mode"] == "int8"), None)
    if int8:
        made["confusion_diff"] = f"confusion-diff-{int8}.png"
        plots.confusion_diff_plot(report, confusion_matrix(labels, reference_pred, len(report["class_names"])),
                                  int8, target / made["confusion_diff"])
    if plots.disagreements_plot(images, labels, reference_pred, predictions, report["class_names"],
                                target / "disagreements.png"):
        made["disagreements"] = "disagreements.png"
    return made
