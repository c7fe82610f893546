"""`edgekit predict`: numpy and an interpreter, never TensorFlow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli import options as opts
from edgekit.cli.app import app, handles_errors
from edgekit.cli.options import (
    ClassNamesOption,
    ContractOption,
    LayoutOption,
    MeanOption,
    NoVerify,
    OffsetOption,
    OutputsOption,
    ScaleOption,
    StdOption,
)
from edgekit.console_predict import print_contract, print_json_rows, print_prediction_rows


@app.command()
@handles_errors
def predict(
    artifact: Annotated[Path, typer.Argument(help="A .tflite or .onnx file.", metavar="ARTIFACT")],
    images: Annotated[
        list[Path],
        typer.Argument(
            help="PNG/JPEG files (resized to the model's input; 28x28 grayscale models get MNIST-style centring), "
            ".npy arrays (one sample, or N samples), IDX files, or folders of them.",
            metavar="IMAGES...",
        ),
    ],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Classes to show per image.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image on stdout.")] = False,
    backend: Annotated[
        str | None,
        typer.Option(help="Force an interpreter: ai_edge_litert, tflite_runtime, tensorflow (TFLite) or onnxruntime."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Interpreter threads, 1 to 256 (default: the backend's).")] = None,
    scale: ScaleOption = None,
    offset: OffsetOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    outputs: OutputsOption = None,
    class_names: ClassNamesOption = None,
    contract: ContractOption = None,
    layout: LayoutOption = None,
    no_verify: NoVerify = False,
) -> None:
    """Predict images with an artifact, using only numpy and an interpreter (never TensorFlow).

    A file that cannot be read is reported on its own line and the others are still predicted; the exit
    code is then 1.
    """
    from edgekit.runtime import load
    from edgekit.runtime.pictures.decoding import Decoder
    from edgekit.runtime.predict_files import check_top_k, predict_files

    check_top_k(top_k)
    declared = opts.declared(
        contract, outputs, scale=scale, offset=offset, mean=mean, std=std, class_names=class_names, layout=layout
    )
    with Decoder.for_paths(images) as decoder:  # workers for a big folder are forked before the model loads
        model = load(artifact, backend=backend, num_threads=threads, declared=declared, verify=not no_verify)
        print_contract(model)
        rows = predict_files(model, images, top_k, decoder)
        printed = print_json_rows(rows, model) if as_json else print_prediction_rows(rows, model, top_k > 1)
    if printed.failed:
        raise typer.Exit(1)
