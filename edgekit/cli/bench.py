"""`edgekit bench`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from edgekit.cli import options as opts
from edgekit.cli.app import app, handles_errors, takes
from edgekit.cli.options import (
    GATE_HELP,
    ContractOptions,
    DataOption,
    DataPlaceOptions,
    GateOptions,
    LayoutOption,
    NoVerify,
    TimingOptions,
)
from edgekit.console import RichReporter, out, print_bench


@dataclass(frozen=True, kw_only=True)
class BenchOptions(TimingOptions, GateOptions, ContractOptions, DataPlaceOptions):
    """The options of `edgekit bench`, as Typer reads them (``app.takes``)."""

    target: Annotated[
        Path,
        typer.Argument(
            help="A run folder (model.keras and artifacts/), a Keras model (.keras, .h5, SavedModel folder) "
            "followed by its artifacts, or artifacts alone (.tflite/.onnx files or a folder of them: drift is then "
            "measured against the first float32 one).",
            metavar="RUN_DIR | MODEL | ARTIFACT",
        ),
    ]
    more: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More artifacts (.tflite, .onnx), or for a run folder artifact names.", metavar="ARTIFACT..."
        ),
    ] = None
    artifacts: Annotated[
        str | None,
        typer.Option(help="Comma-separated artifact names (tflite-int8) or paths. Default: every artifact of the run."),
    ] = None
    dataset_split: Annotated[str, typer.Option(help="Split to evaluate: test, validation or train.")] = "test"
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder. Default: bench/ in the run folder, or beside.")
    ] = None
    baseline: Annotated[Path | None, typer.Option(help="An earlier report.json to compare with.")] = None
    max_slowdown: Annotated[float | None, typer.Option(help=GATE_HELP + "p50 ratio to the baseline's.")] = None
    max_accuracy_regression: Annotated[
        float | None, typer.Option(help=GATE_HELP + "points an artifact may fall below the baseline's accuracy.")
    ] = None
    plots: Annotated[bool, typer.Option(help="Write PNG plots beside the report.")] = True
    profile: Annotated[
        bool,
        typer.Option(
            help="Measure each artifact's peak memory (in a child process) and which op types take its time "
            "(apart from the latency runs). MACs are always counted."
        ),
    ] = True
    data: DataOption = None
    layout: LayoutOption = None
    no_verify: NoVerify = False

    def config(self) -> Any:
        """The library's BenchConfig, validated."""
        named = tuple(str(m) for m in self.more or ()) + (
            tuple(opts.csv(self.artifacts, "--artifacts")) if self.artifacts else ()
        )
        config = self.bench_config(
            split=self.dataset_split,
            artifacts=named,
            plots=self.plots,
            out_dir=self.out_dir,
            declared=self.declared(layout=self.layout),
            verify=not self.no_verify,
            profile=self.profile,
        )
        config.validate()
        return config

    def run_bench(self) -> Any:
        """``edgekit.benchmarks.bench`` on these options."""
        from edgekit.benchmarks import bench
        from edgekit.benchmarks.report import load_report
        from edgekit.convert import DataSources

        limits = self.limits(max_slowdown=self.max_slowdown, max_accuracy_regression=self.max_accuracy_regression)
        config = self.config()
        sources = DataSources(data=self.data, data_dir=self.data_dir, offline=self.offline or None)
        baseline = (load_report(self.baseline), self.baseline) if self.baseline else None
        return bench(
            self.target, config, thresholds=limits, baseline=baseline, sources=sources, reporter=RichReporter()
        )


@app.command()
@handles_errors
@takes(BenchOptions)
def bench(options: BenchOptions) -> None:
    """Measure latency, size, accuracy and drift of every artifact against the Keras reference; gate on thresholds.

    Three forms: `edgekit bench RUN_DIR`; `edgekit bench model.keras a.tflite b.onnx --data DIR`; or artifacts
    alone, `edgekit bench a.tflite b.onnx --data DIR` (accuracy, latency, size; drift against the first float32
    artifact, and the report says no Keras model was used).
    """
    from edgekit.benchmarks.gate import raise_for_breaches

    result = options.run_bench()
    print_bench(result.report)
    out.print(escape(f"report: {result.markdown_path} (and {result.json_path.name}, plots) in {result.out_dir}"))
    raise_for_breaches(list(result.breaches))
