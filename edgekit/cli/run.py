"""`edgekit run` (the main job: train, convert, bench)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from edgekit.cli import options as opts
from edgekit.cli.app import DEFAULT_RUNS, app, handles_errors, takes
from edgekit.cli.options import DataPlaceOptions, GateOptions, TimingOptions
from edgekit.console import RichReporter, out, print_bench
from edgekit.dataset_names import DatasetName
from edgekit.models import MODELS


@dataclass(frozen=True, kw_only=True)
class RunOptions(TimingOptions, GateOptions, DataPlaceOptions):
    """The options of `edgekit run`, as Typer reads them (``app.takes``)."""

    models: Annotated[str, typer.Option(help=f"Comma-separated models: {', '.join(MODELS)}.")] = ",".join(MODELS)
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset.")] = DatasetName.MNIST
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for every run, artifact and report.")] = (
        DEFAULT_RUNS
    )
    force: Annotated[bool, typer.Option(help="Redo training and conversions even when their inputs are unchanged.")] = (
        False
    )
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs for every model (default: each model's own).")] = (
        None
    )
    max_train_images: Annotated[
        int | None,
        typer.Option(help="Train on a stratified subset of N images (every class in proportion; quick runs)."),
    ] = None
    calibration_samples: Annotated[int, typer.Option(help="Training images used to calibrate int8.")] = 300
    parity_check: Annotated[bool, typer.Option(help="Exit 1 when an artifact falls outside its parity band.")] = True

    def run_pipeline(self) -> Any:
        """``edgekit.pipeline.run_pipeline`` on these options."""
        from edgekit.convert import ConvertOptions, DataSources
        from edgekit.pipeline import PipelineConfig, run_pipeline

        config = PipelineConfig(
            models=tuple(opts.csv(self.models, "--models")),
            dataset=self.dataset.value,
            force=self.force,
            epochs=self.epochs,
            max_train_images=self.max_train_images,
            convert=ConvertOptions(calibration_samples=self.calibration_samples),
            bench=self.bench_config(),
        )
        sources = DataSources(data_dir=self.data_dir, offline=self.offline or None)
        return run_pipeline(config, self.out_dir, thresholds=self.limits(), sources=sources, reporter=RichReporter())


@app.command()
@handles_errors
@takes(RunOptions)
def run(options: RunOptions) -> None:
    """The main job: train each model, convert it to every format and mode, benchmark everything."""
    from edgekit.benchmarks.gate import raise_for_breaches

    result = options.run_pipeline()
    for outcome in result.outcomes:
        print_bench(outcome.bench.report)
    per_model = ", ".join(str(o.bench.markdown_path) for o in result.outcomes)
    out.print(escape(f"done in {result.seconds:.0f} s. Report: {result.summary_markdown} (per model: {per_model})"))
    if options.parity_check:
        result.raise_for_parity()
    raise_for_breaches(result.breaches)
