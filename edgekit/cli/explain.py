"""`edgekit explain`: which layer caused the drift, across Keras, TFLite and ONNX."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from edgekit.cli import options as opts
from edgekit.cli.app import app, handles_errors
from edgekit.cli.options import (
    ClassNamesOption,
    ContractOption,
    DataDirOption,
    DataOption,
    MeanOption,
    OfflineOption,
    OffsetOption,
    OutputsOption,
    ScaleOption,
    StdOption,
)
from edgekit.console import RichReporter, out, print_explain


@app.command()
@handles_errors
def explain(
    source: Annotated[
        Path,
        typer.Argument(help="A run folder from `edgekit train`, or a .keras / .h5 model.", metavar="RUN_DIR_OR_MODEL"),
    ],
    artifacts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Artifact names (tflite-int8) or paths. Default: every artifact of the run (or beside the model).",
            metavar="ARTIFACTS",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Held-out test images in the debug set.")] = 256,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder. Default: RUN_DIR/explain, or explain/ beside the model."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print explain.json on stdout instead of the table.")] = False,
    plots: Annotated[bool, typer.Option(help="Write sqnr-by-layer.png.")] = True,
    data: DataOption = None,
    scale: ScaleOption = None,
    offset: OffsetOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    outputs: OutputsOption = None,
    class_names: ClassNamesOption = None,
    contract: ContractOption = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Compare every Keras layer with its tensor in each artifact: SQNR per layer, the layer that adds the error."""
    import json

    from edgekit.convert import DataSources
    from edgekit.explain import ExplainConfig
    from edgekit.explain import explain as run_explain

    declared = opts.declared(contract, outputs, scale=scale, offset=offset, mean=mean, std=std, class_names=class_names)
    config = ExplainConfig(
        artifacts=tuple(artifacts or ()), samples=samples, out_dir=out_dir, plots=plots, declared=declared
    )
    config.validate()
    sources = DataSources(data=data, data_dir=data_dir, offline=offline or None)
    result = run_explain(source, config, sources=sources, reporter=None if as_json else RichReporter())
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    print_explain(result)
    out.print(escape(f"explained in {result.seconds:.1f} s: {', '.join(result.files.values())} in {result.out_dir}"))
