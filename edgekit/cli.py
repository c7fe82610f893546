"""The `edgekit` command: wiring only. Each command parses options, calls one library function,
prints its result and exits. Heavy libraries are imported inside the commands that need them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from edgekit.console import (
    RichReporter, err, out, print_bench, print_conversions, print_doctor, print_predictions, print_train_result,
)
from edgekit.contract import OutputKind
from edgekit.data import DatasetName
from edgekit.errors import EdgekitError
from edgekit.formats import FormatChoice, QuantizeChoice
from edgekit.models import MODELS, ModelName

app = typer.Typer(
    name="edgekit",
    help="Train a small Keras model, convert it for the edge (TFLite, ONNX), run it and benchmark it honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
DEFAULT_RUNS = Path("edgekit-runs")
F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(command: F) -> F:
    """Turn edgekit's own errors into one line (plus a hint) and their exit code; bugs keep tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EdgekitError as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err.print(f"[dim]hint:[/] {exc.hint}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[bold red]interrupted[/]: nothing half-written was left as finished")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with the dataset's IDX .gz files or Keras .npz "
                 "(also EDGEKIT_DATA_DIR). Without it: Keras' cache, then a download, then the offline sample."),
]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Never try to download a dataset (also EDGEKIT_OFFLINE=1).")]


@app.command()
@handles_errors
def train(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Architecture to train.")] = ModelName("dense"),  # type: ignore[arg-type]
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset to train on.")] = DatasetName.MNIST,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs (early stopping may end sooner). "
                                               "Default: the model's own (dense 40, cnn 40).")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per training step.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and augmentation.")] = 0,
    augment: Annotated[bool, typer.Option(help="Random shifts of up to 2 pixels while training.")] = True,
    max_train_images: Annotated[int | None, typer.Option(help="Use only the first N training images (quick runs).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder. Default: edgekit-runs/MODEL-DATASET.")] = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Train a model and keep it as the Keras reference, with history, plots and a manifest."""
    from edgekit.train import TrainConfig
    from edgekit.train import train as run_training

    spec = MODELS[model.value]
    config = TrainConfig(
        model=model.value, dataset=dataset.value, epochs=spec.default_epochs if epochs is None else epochs, batch_size=batch_size,
        seed=seed, learning_rate=spec.learning_rate, augment=augment, max_train_images=max_train_images,
    )
    config.validate()
    target = out_dir or DEFAULT_RUNS / f"{model.value}-{dataset.value}"
    result = run_training(config, target, data_dir=data_dir, offline=offline or None, reporter=RichReporter())
    print_train_result(result)


ScaleOption = Annotated[str | None, typer.Option(
    "--scale", help="Preprocessing x * SCALE + OFFSET on raw values (0..255 pixels): a number, a comma list "
    "per channel, or a .npy file.", rich_help_panel="Model contract")]
OffsetOption = Annotated[str | None, typer.Option("--offset", help="See --scale.", rich_help_panel="Model contract")]
MeanOption = Annotated[str | None, typer.Option(
    "--mean", help="Preprocessing (x - MEAN) / STD on raw values: a number, a comma list per channel, or a .npy "
    "file (per-pixel statistics).", rich_help_panel="Model contract")]
StdOption = Annotated[str | None, typer.Option("--std", help="See --mean.", rich_help_panel="Model contract")]
OutputsOption = Annotated[OutputKind | None, typer.Option(
    "--outputs", help="What the model returns (inferred from a final softmax when not given).",
    rich_help_panel="Model contract")]
ClassNamesOption = Annotated[str | None, typer.Option(
    "--class-names", help="A file with one class name a line, or a comma list.", rich_help_panel="Model contract")]
ContractOption = Annotated[Path | None, typer.Option(
    "--contract", help="A TOML file with any of the keys scale, offset, mean, std, outputs, class_names "
    "(flags win).", rich_help_panel="Model contract")]
DataOption = Annotated[str | None, typer.Option(
    "--data", help="Images to calibrate and check with: a folder with one subfolder per class, an .npz (x/y or "
    "x_train/y_train/x_test/y_test), a folder of IDX files, or a dataset name (mnist, fashion-mnist, digits).")]


def _declared(scale: str | None, offset: str | None, mean: str | None, std: str | None,
              outputs: OutputKind | None, class_names: str | None, contract: Path | None) -> Any:
    from edgekit.contract import declare

    return declare(scale=scale, offset=offset, mean=mean, std=std, outputs=outputs.value if outputs else None,
                   class_names=class_names, contract_file=contract)


@app.command()
@handles_errors
def convert(
    source: Annotated[Path, typer.Argument(help="A run folder from `edgekit train`, a .keras or legacy .h5 file, "
                                           "or a TensorFlow SavedModel folder.")],
    fmt: Annotated[FormatChoice, typer.Option("--format", "-f", help="Target format.")] = FormatChoice("all"),  # type: ignore[valid-type]
    quantize: Annotated[QuantizeChoice, typer.Option(  # type: ignore[valid-type]
        "--quantize", "-q", help="none (float32), float16 (TFLite), dynamic (int8 weights), int8 (full integer, "
        "calibrated), or all that the format can do.")] = QuantizeChoice("all"),
    calibration_samples: Annotated[int, typer.Option(help="Training images used to calibrate int8.")] = 300,
    parity_samples: Annotated[int, typer.Option(help="Held-out test images for the parity check.")] = 500,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Artifact folder. Default: artifacts/ in the "
                                                 "run folder, or beside the model.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace artifacts that already exist.")] = False,
    parity_check: Annotated[bool, typer.Option(help="Exit 1 when an artifact falls outside its parity band "
                                               "(the artifact is still written).")] = True,
    onnx_dynamic_ops: Annotated[str, typer.Option(
        help="ONNX dynamic: matmul (MatMul/Gemm only) or all (convolutions too: ConvInteger, slow on CPU). "
        "Activations are quantized per row (per image), never per batch.")] = "matmul",
    data: DataOption = None,
    calibration_data: Annotated[str | None, typer.Option(
        help="Calibrate int8 on these images instead (same forms as --data).")] = None,
    scale: ScaleOption = None, offset: OffsetOption = None, mean: MeanOption = None, std: StdOption = None,
    outputs: OutputsOption = None, class_names: ClassNamesOption = None, contract: ContractOption = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Convert a model to TFLite / ONNX, with a JSON sidecar and a parity check per artifact."""
    from edgekit.convert import ConvertOptions, DataSources, convert_all, raise_for_parity
    from edgekit.formats import expand

    declared = _declared(scale, offset, mean, std, outputs, class_names, contract)
    options = ConvertOptions(calibration_samples=calibration_samples, parity_samples=parity_samples,
                             overwrite=overwrite, onnx_dynamic_ops=onnx_dynamic_ops, out_dir=out_dir)
    sources = DataSources(data=data, calibration_data=calibration_data, data_dir=data_dir, offline=offline or None)
    results = convert_all(source, expand([fmt], [quantize]), options, sources=sources, declared=declared,
                          reporter=RichReporter())
    print_conversions(results)
    if parity_check:
        raise_for_parity(results)


@app.command()
@handles_errors
def predict(
    artifact: Annotated[Path, typer.Argument(help="A .tflite or .onnx file made by `edgekit convert`.")],
    images: Annotated[list[Path], typer.Argument(help="PNG/JPEG files (any size: converted MNIST-style), .npy "
                                                 "arrays (N, 28, 28), IDX files, or folders of them.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Classes to show per image.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image on stdout.")] = False,
    backend: Annotated[str | None, typer.Option(help="Force an interpreter: ai_edge_litert, tflite_runtime, "
                                                "tensorflow (TFLite) or onnxruntime.")] = None,
    threads: Annotated[int | None, typer.Option(help="Interpreter threads (default: the backend's).")] = None,
) -> None:
    """Predict images with an artifact, using only numpy and an interpreter (never TensorFlow)."""
    import json

    from edgekit.runtime import load
    from edgekit.runtime.images import load_images

    if top_k < 1:
        raise typer.BadParameter("--top-k must be at least 1", param_hint="--top-k")
    model = load(artifact, backend=backend, num_threads=threads)
    k = min(top_k, len(model.class_names))
    rows = []
    for path in images:
        for item in load_images(path):
            prediction = model.predict(item.images)
            many = len(prediction.raw) > 1
            for i, top in enumerate(prediction.top_k(k)):
                rows.append({"source": str(item.source) + (f"[{i}]" if many else ""), "label": top[0][0],
                             "class_name": top[0][1], "probability": round(top[0][2], 6),
                             "top_k": [{"label": c, "class_name": n, "probability": round(p, 6)} for c, n, p in top],
                             "raw": prediction.raw[i].tolist()})  # exactly what the interpreter returned
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    print_predictions(rows, f"{artifact.name} ({model.backend} {model.backend_version or ''})", k)


def _csv(value: str, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise typer.BadParameter(f"{what} must not be empty")
    return items


def _batch_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in _csv(value, "--batch-sizes"))
    except ValueError:
        raise typer.BadParameter(f"--batch-sizes must be integers separated by commas, got {value!r}") from None
    return sizes


GATE_HELP = "Gate (exit 3 on a breach): "


def _thresholds(thresholds_file: Path | None, **flags: float | None) -> Any:
    from edgekit.benchmarks.gate import Thresholds, load_thresholds, merge

    base = load_thresholds(thresholds_file) if thresholds_file else Thresholds()
    return merge(base, **flags)


ThresholdsFile = Annotated[Path | None, typer.Option("--thresholds", help=GATE_HELP + "a TOML file with any of the "
                                                     "threshold keys (top level or [gate]); flags win.")]
MaxAccuracyDrop = Annotated[float | None, typer.Option(help=GATE_HELP + "points an artifact may fall below Keras.")]
MinAgreement = Annotated[float | None, typer.Option(help=GATE_HELP + "top-1 agreement with Keras, 0..1.")]
MaxLatency = Annotated[float | None, typer.Option("--max-latency-ms", help=GATE_HELP + "p90 at the smallest batch.")]
MinTime = Annotated[float, typer.Option(help="Seconds of timed runs per artifact and batch size (at least 100 runs).")]
Threads = Annotated[int, typer.Option(help="Interpreter threads (and TensorFlow's, when it is not yet running).")]
BatchSizes = Annotated[str, typer.Option(help="Comma-separated batch sizes to time.")]


@app.command()
@handles_errors
def bench(
    run_dir: Annotated[Path, typer.Argument(help="Run folder with model.keras and artifacts/.")],
    artifacts: Annotated[str | None, typer.Option(help="Comma-separated artifact names (tflite-int8) or paths. "
                                                  "Default: every artifact of the run.")] = None,
    dataset_split: Annotated[str, typer.Option(help="Split to evaluate: test, validation or train.")] = "test",
    threads: Threads = 1,
    batch_sizes: BatchSizes = "1,32",
    min_time: MinTime = 0.5,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder. Default: RUN_DIR/bench.")] = None,
    thresholds_file: ThresholdsFile = None,
    max_accuracy_drop: MaxAccuracyDrop = None,
    min_agreement: MinAgreement = None,
    max_latency_ms: MaxLatency = None,
    baseline: Annotated[Path | None, typer.Option(help="An earlier report.json to compare with.")] = None,
    max_slowdown: Annotated[float | None, typer.Option(help=GATE_HELP + "p50 ratio to the baseline's.")] = None,
    max_accuracy_regression: Annotated[float | None, typer.Option(
        help=GATE_HELP + "points an artifact may fall below the baseline's accuracy.")] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots beside the report.")] = True,
    data: DataOption = None,
    scale: ScaleOption = None, offset: OffsetOption = None, mean: MeanOption = None, std: StdOption = None,
    outputs: OutputsOption = None, class_names: ClassNamesOption = None, contract: ContractOption = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Measure latency, size, accuracy and drift of every artifact against the Keras reference; gate on thresholds."""
    from edgekit.benchmarks import BenchConfig
    from edgekit.benchmarks import bench as run_bench
    from edgekit.benchmarks.gate import raise_for_breaches
    from edgekit.benchmarks.latency import TimingPolicy
    from edgekit.benchmarks.report import load_report
    from edgekit.errors import UsageError

    if dataset_split not in ("test", "validation", "train"):
        raise UsageError(f"--dataset-split must be test, validation or train, not {dataset_split!r}")
    limits = _thresholds(thresholds_file, max_accuracy_drop=max_accuracy_drop, min_agreement=min_agreement,
                         max_latency_ms=max_latency_ms, max_slowdown=max_slowdown,
                         max_accuracy_regression=max_accuracy_regression)
    if (limits.max_slowdown is not None or limits.max_accuracy_regression is not None) and baseline is None:
        raise UsageError("--max-slowdown and --max-accuracy-regression need --baseline OLD_report.json")
    from edgekit.convert import DataSources

    declared = _declared(scale, offset, mean, std, outputs, class_names, contract)
    config = BenchConfig(split=dataset_split, threads=threads, batch_sizes=_batch_sizes(batch_sizes),
                         artifacts=tuple(_csv(artifacts, "--artifacts")) if artifacts else (),
                         policy=TimingPolicy(min_seconds=min_time), plots=plots, out_dir=out_dir, declared=declared)
    config.validate()
    baseline_pair = (load_report(baseline), baseline) if baseline else None
    result = run_bench(run_dir, config, thresholds=limits, baseline=baseline_pair,
                       sources=DataSources(data=data, data_dir=data_dir, offline=offline or None),
                       reporter=RichReporter())
    print_bench(result.report)
    out.print(f"report: {result.markdown_path} (and {result.json_path.name}, plots) in {result.out_dir}")
    raise_for_breaches(list(result.breaches))


@app.command()
@handles_errors
def run(
    models: Annotated[str, typer.Option(help=f"Comma-separated models: {', '.join(MODELS)}.")] = ",".join(MODELS),
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset.")] = DatasetName.MNIST,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for every run, artifact and report.")] = DEFAULT_RUNS,
    force: Annotated[bool, typer.Option(help="Redo training and conversions even when their inputs are unchanged.")] = False,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs for every model (default: each model's own).")] = None,
    max_train_images: Annotated[int | None, typer.Option(help="Use only the first N training images (quick runs).")] = None,
    calibration_samples: Annotated[int, typer.Option(help="Training images used to calibrate int8.")] = 300,
    threads: Threads = 1,
    batch_sizes: BatchSizes = "1,32",
    min_time: MinTime = 0.5,
    thresholds_file: ThresholdsFile = None,
    max_accuracy_drop: MaxAccuracyDrop = None,
    min_agreement: MinAgreement = None,
    max_latency_ms: MaxLatency = None,
    parity_check: Annotated[bool, typer.Option(help="Exit 1 when an artifact falls outside its parity band.")] = True,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """The main job: train each model, convert it to every format and mode, benchmark everything."""
    from edgekit.benchmarks import BenchConfig
    from edgekit.benchmarks.gate import raise_for_breaches
    from edgekit.benchmarks.latency import TimingPolicy
    from edgekit.errors import ParityError
    from edgekit.pipeline import run_pipeline

    names = _csv(models, "--models")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise typer.BadParameter(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}",
                                 param_hint="--models")
    limits = _thresholds(thresholds_file, max_accuracy_drop=max_accuracy_drop, min_agreement=min_agreement,
                         max_latency_ms=max_latency_ms)
    from edgekit.convert import ConvertOptions, DataSources
    from edgekit.pipeline import PipelineConfig

    config = PipelineConfig(
        models=tuple(names), dataset=dataset.value, force=force, epochs=epochs, max_train_images=max_train_images,
        convert=ConvertOptions(calibration_samples=calibration_samples),
        bench=BenchConfig(threads=threads, batch_sizes=_batch_sizes(batch_sizes),
                          policy=TimingPolicy(min_seconds=min_time)))
    result = run_pipeline(config, out_dir, thresholds=limits,
                          sources=DataSources(data_dir=data_dir, offline=offline or None), reporter=RichReporter())
    for outcome in result.outcomes:
        print_bench(outcome.bench.report)
    out.print(f"done in {result.seconds:.0f} s. Report: {result.summary_markdown} "
              f"(per model: {', '.join(str(o.bench.markdown_path) for o in result.outcomes)})")
    failures = [f for o in result.outcomes for f in o.parity_failures]
    if parity_check and failures:
        raise ParityError("parity check failed: " + " | ".join(failures), "the reports show the drift in full")
    raise_for_breaches(result.breaches)


@app.command()
@handles_errors
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show versions, GPU, installed extras and known-bad combinations; exit 1 if something is broken."""
    import json

    from edgekit.doctor import run_doctor

    report = run_doctor()
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        print_doctor(report)
    if not report.healthy:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
