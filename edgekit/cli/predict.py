"""`edgekit predict`: numpy and an interpreter, never TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.cli.app import app, handles_errors, takes
from edgekit.cli.options import ContractOptions, LayoutOption, NoVerify
from edgekit.console_predict import print_contract, print_json_rows, print_prediction_rows


@dataclass(frozen=True, kw_only=True)
class PredictOptions(ContractOptions):
    """The options of `edgekit predict`, as Typer reads them (``app.takes``)."""

    artifact: Annotated[Path, typer.Argument(help="A .tflite or .onnx file.", metavar="ARTIFACT")]
    images: Annotated[
        list[Path],
        typer.Argument(
            help="PNG/JPEG files (resized to the model's input; 28x28 grayscale models get MNIST-style centring), "
            ".npy arrays (one sample, or N samples), IDX files, or folders of them.",
            metavar="IMAGES...",
        ),
    ]
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Classes to show per image.")] = 1
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image on stdout.")] = False
    backend: Annotated[
        str | None,
        typer.Option(help="Force an interpreter: ai_edge_litert, tflite_runtime, tensorflow (TFLite) or onnxruntime."),
    ] = None
    threads: Annotated[int | None, typer.Option(help="Interpreter threads, 1 to 256 (default: the backend's).")] = None
    layout: LayoutOption = None
    no_verify: NoVerify = False

    def load(self) -> Any:
        """The artifact loaded as these options say."""
        from edgekit.runtime import load

        declared, verify = self.declared(layout=self.layout), not self.no_verify
        return load(self.artifact, backend=self.backend, num_threads=self.threads, declared=declared, verify=verify)


@app.command()
@handles_errors
@takes(PredictOptions)
def predict(options: PredictOptions) -> None:
    """Predict images with an artifact, using only numpy and an interpreter (never TensorFlow).

    A file that cannot be read is reported on its own line and the others are still predicted; the exit
    code is then 1.
    """
    from edgekit.runtime.pictures.decoding import Decoder
    from edgekit.runtime.predict_files import check_top_k, predict_files

    check_top_k(options.top_k)
    images, top_k = options.images, options.top_k
    with Decoder.for_paths(images) as decoder:  # workers for a big folder are forked before the model loads
        model = options.load()
        print_contract(model)
        rows = predict_files(model, images, top_k, decoder)
        printed = print_json_rows(rows, model) if options.as_json else print_prediction_rows(rows, model, top_k > 1)
    if printed.failed:
        raise typer.Exit(1)
