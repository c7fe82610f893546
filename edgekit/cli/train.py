"""`edgekit train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli.app import DEFAULT_RUNS, app, handles_errors
from edgekit.cli.options import DataDirOption, OfflineOption
from edgekit.console import RichReporter, print_train_result
from edgekit.dataset_names import DatasetName
from edgekit.models import MODELS, ModelName

DENSE = ModelName("dense")


@app.command()
@handles_errors
def train(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Architecture to train.")] = DENSE,
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset to train on.")] = DatasetName.MNIST,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Maximum epochs (early stopping may end sooner). Default: the model's own (dense 40, cnn 40)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per training step.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and augmentation.")] = 0,
    augment: Annotated[
        bool,
        typer.Option(
            help="Random shifts of up to 2 pixels while training "
            "(28x28 images; in proportion for other sizes, none for features)."
        ),
    ] = True,
    max_train_images: Annotated[
        int | None,
        typer.Option(help="Train on a stratified subset of N images (every class in proportion; quick runs)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder. Default: edgekit-runs/MODEL-DATASET.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a finished run in that folder.")] = False,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Train on these images instead of --dataset: a folder with one subfolder per class, an .npz, "
            "a folder of IDX files, or a dataset name (mnist, fashion-mnist, digits). Any size, 1 or 3 channels, "
            "or feature vectors (dense only).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Train a model and keep it as the Keras reference, with history, plots and a manifest."""
    from edgekit.train import TrainConfig
    from edgekit.train import train as run_training

    spec = MODELS[model.value]
    from edgekit.data.sources import DataSources

    config = TrainConfig(
        model=model.value,
        dataset=dataset.value,
        data=_recorded_source(data),
        epochs=spec.default_epochs if epochs is None else epochs,
        batch_size=batch_size,
        seed=seed,
        learning_rate=spec.learning_rate,
        augment=augment,
        max_train_images=max_train_images,
    )
    config.validate()
    target = out_dir or DEFAULT_RUNS / f"{model.value}-{dataset.value if data is None else Path(data).stem}"
    sources = DataSources(data_dir=data_dir, offline=offline or None)
    result = run_training(config, target, sources=sources, reporter=RichReporter(), overwrite=overwrite)
    print_train_result(result)


def _recorded_source(data: str | None) -> str | None:
    """--data as the run records it: a path made absolute (convert and bench find it from anywhere)."""
    return str(Path(data).resolve()) if data is not None and Path(data).exists() else data
