"""`edgekit train`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.cli.app import DEFAULT_RUNS, app, handles_errors, takes
from edgekit.cli.options import DataPlaceOptions
from edgekit.console import RichReporter, print_train_result
from edgekit.dataset_names import DatasetName
from edgekit.models import MODELS, ModelName

DENSE = ModelName("dense")


@dataclass(frozen=True, kw_only=True)
class TrainOptions(DataPlaceOptions):
    """The options of `edgekit train`, as Typer reads them (``app.takes``)."""

    model: Annotated[ModelName, typer.Option("--model", "-m", help="Architecture to train.")] = DENSE
    dataset: Annotated[DatasetName, typer.Option("--dataset", "-d", help="Dataset to train on.")] = DatasetName.MNIST
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Maximum epochs (early stopping may end sooner). Default: the model's own (dense 40, cnn 40)."
        ),
    ] = None
    batch_size: Annotated[int, typer.Option(help="Images per training step.")] = 32
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and augmentation.")] = 0
    augment: Annotated[
        bool,
        typer.Option(
            help="Random shifts of up to 2 pixels while training "
            "(28x28 images; in proportion for other sizes, none for features)."
        ),
    ] = True
    max_train_images: Annotated[
        int | None,
        typer.Option(help="Train on a stratified subset of N images (every class in proportion; quick runs)."),
    ] = None
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder. Default: edgekit-runs/MODEL-DATASET.")
    ] = None
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a finished run in that folder.")] = False
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Train on these images instead of --dataset: a folder with one subfolder per class, an .npz, "
            "a folder of IDX files, or a dataset name (mnist, fashion-mnist, digits). Any size, 1 or 3 channels, "
            "or feature vectors (dense only).",
        ),
    ] = None

    def config(self) -> Any:
        """The library's TrainConfig, validated."""
        from edgekit.train import TrainConfig

        spec = MODELS[self.model.value]
        config = TrainConfig(
            model=self.model.value,
            dataset=self.dataset.value,
            data=_recorded_source(self.data),
            epochs=spec.default_epochs if self.epochs is None else self.epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            learning_rate=spec.learning_rate,
            augment=self.augment,
            max_train_images=self.max_train_images,
        )
        config.validate()
        return config

    def target(self) -> Path:
        named = self.dataset.value if self.data is None else Path(self.data).stem
        return self.out_dir or DEFAULT_RUNS / f"{self.model.value}-{named}"


@app.command()
@handles_errors
@takes(TrainOptions)
def train(options: TrainOptions) -> None:
    """Train a model and keep it as the Keras reference, with history, plots and a manifest."""
    from edgekit.data.sources import DataSources
    from edgekit.train import train as run_training

    config = options.config()
    sources = DataSources(data_dir=options.data_dir, offline=options.offline or None)
    target, overwrite = options.target(), options.overwrite
    result = run_training(config, target, sources=sources, reporter=RichReporter(), overwrite=overwrite)
    print_train_result(result)


def _recorded_source(data: str | None) -> str | None:
    """--data as the run records it: a path made absolute (convert and bench find it from anywhere)."""
    return str(Path(data).resolve()) if data is not None and Path(data).exists() else data
