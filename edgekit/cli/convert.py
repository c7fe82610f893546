"""`edgekit convert`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.cli.app import DEFAULT_RUNS, app, handles_errors, takes
from edgekit.cli.options import ContractOptions, DataOption, DataPlaceOptions
from edgekit.console import RichReporter, print_conversions
from edgekit.errors import UsageError
from edgekit.formats import FormatChoice, QuantizeChoice
from edgekit.layout import RunsLayout

ALL_FORMATS = FormatChoice("all")
ALL_MODES = QuantizeChoice("all")


@dataclass(frozen=True, kw_only=True)
class ConvertCommandOptions(ContractOptions, DataPlaceOptions):
    """The options of `edgekit convert`, as Typer reads them (``app.takes``)."""

    source: Annotated[
        Path | None,
        typer.Argument(
            help="A run folder from `edgekit train`, a .keras or legacy .h5 file, or a TensorFlow SavedModel folder.",
            metavar="MODEL",
            show_default=False,
        ),
    ] = None
    fmt: Annotated[FormatChoice, typer.Option("--format", "-f", help="Target format.")] = ALL_FORMATS
    quantize: Annotated[
        QuantizeChoice,
        typer.Option(
            "--quantize",
            "-q",
            help="none (float32), float16 (TFLite), dynamic (int8 weights), int8 (full integer, "
            "calibrated), int16x8 (TFLite: int16 activations, int8 weights; the step after int8 when it misses "
            "its band, not in all), or all that the format can do.",
        ),
    ] = ALL_MODES
    calibration_samples: Annotated[int, typer.Option(help="Training images used to calibrate int8.")] = 300
    calibration_method: Annotated[
        str,
        typer.Option(
            help="How int8 activation ranges are drawn from the calibration images, both formats: minmax (the "
            "converters' default), percentile (99.999th of |x|: one outlier no longer stretches the range) or "
            "entropy (the range whose int8 histogram loses least, KL divergence).",
            metavar="<minmax|percentile|entropy>",
        ),
    ] = "minmax"
    parity_samples: Annotated[int, typer.Option(help="Held-out test images for the parity check.")] = 500
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Artifact folder. Default: artifacts/ in the run folder, or beside the model."
        ),
    ] = None
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace artifacts that already exist.")] = False
    parity_check: Annotated[
        bool,
        typer.Option(help="Exit 1 when an artifact falls outside its parity band (the artifact is still written)."),
    ] = True
    onnx_dynamic_ops: Annotated[
        str,
        typer.Option(
            help="ONNX dynamic: matmul (MatMul/Gemm only) or all (convolutions too: ConvInteger, slow on CPU). "
            "Activations are quantized per row (per image), never per batch."
        ),
    ] = "matmul"
    max_accuracy_drop: Annotated[
        float | None,
        typer.Option(
            help="int8: the most accuracy (points) an artifact may lose against Keras on the parity images "
            "(default 0.5).",
            metavar="POINTS",
        ),
    ] = None
    allow_float_fallback: Annotated[
        bool,
        typer.Option(
            "--allow-float-fallback",
            help="int8 outside its band: try, in order, the other calibration methods (FORMAT-int8, still full "
            "integer), then the layers that add the most error in float, one at a time, at most 4 "
            "(FORMAT-int8-mixed), then TFLite int16x8 (tflite-int16x8); the first that holds is kept and its "
            "sidecar lists every try. Without it int8 stays full integer and a miss is an error.",
        ),
    ] = False
    data: DataOption = None
    calibration_data: Annotated[
        str | None, typer.Option(help="Calibrate int8 on these images instead (same forms as --data).")
    ] = None

    def convert_options(self) -> Any:
        """The library's ConvertOptions."""
        from edgekit.convert import ConvertOptions

        return ConvertOptions(
            calibration_samples=self.calibration_samples,
            calibration_method=self.calibration_method,
            parity_samples=self.parity_samples,
            overwrite=self.overwrite,
            onnx_dynamic_ops=self.onnx_dynamic_ops,
            out_dir=self.out_dir,
            max_accuracy_drop=self.max_accuracy_drop,
            allow_float_fallback=self.allow_float_fallback,
        )

    def convert_all(self) -> Any:
        """``edgekit.workflows.convert_all`` on these options."""
        from edgekit.convert import DataSources
        from edgekit.formats import expand
        from edgekit.workflows import convert_all

        if self.source is None:
            raise _no_model()
        sources = DataSources(
            data=self.data, calibration_data=self.calibration_data, data_dir=self.data_dir, offline=self.offline or None
        )
        pairs, declared = expand([self.fmt], [self.quantize]), self.declared()
        return convert_all(
            self.source, pairs, self.convert_options(), sources=sources, declared=declared, reporter=RichReporter()
        )


@app.command()
@handles_errors
@takes(ConvertCommandOptions)
def convert(options: ConvertCommandOptions) -> None:
    """Convert a model to TFLite / ONNX, with a JSON sidecar and a parity check per artifact."""
    from edgekit.convert import raise_for_parity

    results = options.convert_all()
    print_conversions(results)
    if options.parity_check:
        raise_for_parity(results)


def _no_model() -> UsageError:
    runs = RunsLayout(DEFAULT_RUNS).finished_runs()
    hint = (
        f"for example: edgekit convert {runs[0].root}"
        + (f" (runs here: {', '.join(r.root.name for r in runs)})" if len(runs) > 1 else "")
        if runs
        else "train one first (edgekit train --model cnn), or pass a .keras, .h5 or SavedModel"
    )
    return UsageError("convert needs a model: a run folder, a .keras or .h5 file, or a SavedModel folder", hint)
