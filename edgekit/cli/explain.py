"""`edgekit explain`: which layer caused the drift, across Keras, TFLite and ONNX."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from edgekit.cli.app import app, handles_errors, takes
from edgekit.cli.options import ContractOptions, DataOption, DataPlaceOptions
from edgekit.console import RichReporter, out, print_explain


@dataclass(frozen=True, kw_only=True)
class ExplainOptions(ContractOptions, DataPlaceOptions):
    """The options of `edgekit explain`, as Typer reads them (``app.takes``)."""

    source: Annotated[
        Path,
        typer.Argument(help="A run folder from `edgekit train`, or a .keras / .h5 model.", metavar="RUN_DIR_OR_MODEL"),
    ]
    artifacts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Artifact names (tflite-int8) or paths. Default: every artifact of the run (or beside the model).",
            metavar="ARTIFACTS",
            show_default=False,
        ),
    ] = None
    samples: Annotated[int, typer.Option(help="Held-out test images in the debug set.")] = 256
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder. Default: RUN_DIR/explain, or explain/ beside the model."),
    ] = None
    as_json: Annotated[bool, typer.Option("--json", help="Print explain.json on stdout instead of the table.")] = False
    plots: Annotated[bool, typer.Option(help="Write sqnr-by-layer.png.")] = True
    data: DataOption = None

    def run_explain(self) -> Any:
        """``edgekit.explain.explain`` on these options."""
        from edgekit.convert import DataSources
        from edgekit.explain import ExplainConfig, explain

        config = ExplainConfig(
            artifacts=tuple(self.artifacts or ()),
            samples=self.samples,
            out_dir=self.out_dir,
            plots=self.plots,
            declared=self.declared(),
        )
        config.validate()
        sources = DataSources(data=self.data, data_dir=self.data_dir, offline=self.offline or None)
        return explain(self.source, config, sources=sources, reporter=None if self.as_json else RichReporter())


@app.command()
@handles_errors
@takes(ExplainOptions)
def explain(options: ExplainOptions) -> None:
    """Compare every Keras layer with its tensor in each artifact: SQNR per layer, the layer that adds the error."""
    import json

    result = options.run_explain()
    if options.as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    print_explain(result)
    out.print(escape(f"explained in {result.seconds:.1f} s: {', '.join(result.files.values())} in {result.out_dir}"))
