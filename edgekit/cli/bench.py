"""`edgekit bench` and `edgekit run` (the main job: train, convert, bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from edgekit.cli import options as opts
from edgekit.cli.app import DEFAULT_RUNS, app, handles_errors
from edgekit.cli.options import (
    GATE_HELP,
    BatchSizes,
    ClassNamesOption,
    ContractOption,
    DataDirOption,
    DataOption,
    LayoutOption,
    MaxAccuracyDrop,
    MaxLatency,
    MeanOption,
    MinAgreement,
    MinTime,
    NoVerify,
    OfflineOption,
    OffsetOption,
    OutputsOption,
    ScaleOption,
    StdOption,
    Threads,
    ThresholdsFile,
)
from edgekit.console import RichReporter, out, print_bench
from edgekit.dataset_names import DatasetName
from edgekit.models import MODELS


@app.command()
@handles_errors
def bench(
    target: Annotated[
        Path,
        typer.Argument(
            help="A run folder (model.keras and artifacts/), a Keras model (.keras, .h5, SavedModel folder) "
            "followed by its artifacts, or artifacts alone (.tflite/.onnx files or a folder of them: drift is then "
            "measured against the first float32 one).",
            metavar="RUN_DIR | MODEL | ARTIFACT",
        ),
    ],
    more: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More artifacts (.tflite, .onnx), or for a run folder artifact names.", metavar="ARTIFACT..."
        ),
    ] = None,
    artifacts: Annotated[
        str | None,
        typer.Option(help="Comma-separated artifact names (tflite-int8) or paths. Default: every artifact of the run."),
    ] = None,
    dataset_split: Annotated[str, typer.Option(help="Split to evaluate: test, validation or train.")] = "test",
    threads: Threads = 1,
    batch_sizes: BatchSizes = "1,32",
    min_time: MinTime = 0.5,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder. Default: bench/ in the run folder, or beside.")
    ] = None,
    thresholds_file: ThresholdsFile = None,
    max_accuracy_drop: MaxAccuracyDrop = None,
    min_agreement: MinAgreement = None,
    max_latency_ms: MaxLatency = None,
    baseline: Annotated[Path | None, typer.Option(help="An earlier report.json to compare with.")] = None,
    max_slowdown: Annotated[float | None, typer.Option(help=GATE_HELP + "p50 ratio to the baseline's.")] = None,
    max_accuracy_regression: Annotated[
        float | None, typer.Option(help=GATE_HELP + "points an artifact may fall below the baseline's accuracy.")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots beside the report.")] = True,
    profile: Annotated[
        bool,
        typer.Option(
            help="Measure each artifact's peak memory (in a child process) and which op types take its time "
            "(apart from the latency runs). MACs are always counted."
        ),
    ] = True,
    data: DataOption = None,
    scale: ScaleOption = None,
    offset: OffsetOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    outputs: OutputsOption = None,
    class_names: ClassNamesOption = None,
    contract: ContractOption = None,
    layout: LayoutOption = None,
    no_verify: NoVerify = False,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Measure latency, size, accuracy and drift of every artifact against the Keras reference; gate on thresholds.

    Three forms: `edgekit bench RUN_DIR`; `edgekit bench model.keras a.tflite b.onnx --data DIR`; or artifacts
    alone, `edgekit bench a.tflite b.onnx --data DIR` (accuracy, latency, size; drift against the first float32
    artifact, and the report says no Keras model was used).
    """
    from edgekit.benchmarks import BenchConfig
    from edgekit.benchmarks import bench as run_bench
    from edgekit.benchmarks.gate import raise_for_breaches
    from edgekit.benchmarks.latency import TimingPolicy
    from edgekit.benchmarks.report import load_report

    limits = opts.thresholds(
        thresholds_file,
        max_accuracy_drop=max_accuracy_drop,
        min_agreement=min_agreement,
        max_latency_ms=max_latency_ms,
        max_slowdown=max_slowdown,
        max_accuracy_regression=max_accuracy_regression,
    )
    from edgekit.convert import DataSources

    declared = opts.declared(
        contract, outputs, scale=scale, offset=offset, mean=mean, std=std, class_names=class_names, layout=layout
    )
    config = BenchConfig(
        split=dataset_split,
        threads=threads,
        batch_sizes=opts.batch_sizes(batch_sizes),
        artifacts=tuple(str(m) for m in more or ()) + (tuple(opts.csv(artifacts, "--artifacts")) if artifacts else ()),
        policy=TimingPolicy(min_seconds=min_time),
        plots=plots,
        out_dir=out_dir,
        declared=declared,
        verify=not no_verify,
        profile=profile,
    )
    config.validate()
    baseline_pair = (load_report(baseline), baseline) if baseline else None
    result = run_bench(
        target,
        config,
        thresholds=limits,
        baseline=baseline_pair,
        sources=DataSources(data=data, data_dir=data_dir, offline=offline or None),
        reporter=RichReporter(),
    )
    print_bench(result.report)
    out.print(escape(f"report: {result.markdown_path} (and {result.json_path.name}, plots) in {result.out_dir}"))
    raise_for_breaches(list(result.breaches))


@app.command()
@handles_errors
def run(
    models: Annotated[str, typer.Option(help=f"Comma-separated models: {', '.join(MODELS)}.")] = ",".join(MODELS),
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset.")] = DatasetName.MNIST,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for every run, artifact and report.")
    ] = DEFAULT_RUNS,
    force: Annotated[
        bool, typer.Option(help="Redo training and conversions even when their inputs are unchanged.")
    ] = False,
    epochs: Annotated[
        int | None, typer.Option(help="Maximum epochs for every model (default: each model's own).")
    ] = None,
    max_train_images: Annotated[
        int | None,
        typer.Option(help="Train on a stratified subset of N images (every class in proportion; quick runs)."),
    ] = None,
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
    from edgekit.convert import ConvertOptions, DataSources
    from edgekit.pipeline import PipelineConfig, run_pipeline

    limits = opts.thresholds(
        thresholds_file, max_accuracy_drop=max_accuracy_drop, min_agreement=min_agreement, max_latency_ms=max_latency_ms
    )
    config = PipelineConfig(
        models=tuple(opts.csv(models, "--models")),
        dataset=dataset.value,
        force=force,
        epochs=epochs,
        max_train_images=max_train_images,
        convert=ConvertOptions(calibration_samples=calibration_samples),
        bench=BenchConfig(
            threads=threads, batch_sizes=opts.batch_sizes(batch_sizes), policy=TimingPolicy(min_seconds=min_time)
        ),
    )
    result = run_pipeline(
        config,
        out_dir,
        thresholds=limits,
        sources=DataSources(data_dir=data_dir, offline=offline or None),
        reporter=RichReporter(),
    )
    for outcome in result.outcomes:
        print_bench(outcome.bench.report)
    out.print(
        escape(
            f"done in {result.seconds:.0f} s. Report: {result.summary_markdown} "
            f"(per model: {', '.join(str(o.bench.markdown_path) for o in result.outcomes)})"
        )
    )
    if parity_check:
        result.raise_for_parity()
    raise_for_breaches(result.breaches)
