"""`edgekit predict`: numpy and an interpreter, never TensorFlow."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli import options as opts
from edgekit.cli.app import app, handles_errors
from edgekit.cli.options import (
    ClassNamesOption,
    ContractOption,
    MeanOption,
    OffsetOption,
    OutputsOption,
    ScaleOption,
    StdOption,
)
from edgekit.console import print_predictions


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
    threads: Annotated[int | None, typer.Option(help="Interpreter threads (default: the backend's).")] = None,
    scale: ScaleOption = None,
    offset: OffsetOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    outputs: OutputsOption = None,
    class_names: ClassNamesOption = None,
    contract: ContractOption = None,
) -> None:
    """Predict images with an artifact, using only numpy and an interpreter (never TensorFlow)."""
    import json

    from edgekit.runtime import load
    from edgekit.runtime.predict_files import predict_files

    declared = opts.declared(contract, outputs, scale=scale, offset=offset, mean=mean, std=std, class_names=class_names)
    model = load(artifact, backend=backend, num_threads=threads, declared=declared)
    rows = list(predict_files(model, images, top_k))
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row.to_dict()) + "\n")
        return
    print_predictions(rows, f"{artifact.name} ({model.backend} {model.backend_version or ''})", top_k > 1)
