"""Shared fixtures: a small real-MNIST dataset and tiny trained models, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("EDGEKIT_OFFLINE", "1")  # tests never touch the network

from edgekit.data import Dataset, DatasetName, Split, load_dataset


@pytest.fixture(scope="session")
def sample_dataset() -> Dataset:
    """The offline 5,000-digit MNIST sample, split as edgekit splits it."""
    return load_dataset("mnist", offline=True)


def _subset(split: Split, per_class: int) -> Split:
    picked = np.concatenate([np.flatnonzero(split.labels == c)[:per_class] for c in range(10)])
    picked.sort()
    return Split(split.images[picked], split.labels[picked])


@pytest.fixture(scope="session")
def tiny_dataset(sample_dataset: Dataset) -> Dataset:
    """600 train / 100 validation / 300 test real digits: enough to learn, quick to fit."""
    return Dataset(
        name=DatasetName.MNIST,
        class_names=sample_dataset.class_names,
        source=sample_dataset.source,
        location=sample_dataset.location,
        is_full=False,
        train=_subset(sample_dataset.train, 60),
        validation=_subset(sample_dataset.validation, 10),
        test=_subset(sample_dataset.test, 30),
    )


def _train_run(kind: str, dataset: Dataset, out: Path, epochs: int, augment: bool = True):
    from edgekit.train import TrainConfig, train

    config = TrainConfig(model=kind, dataset="mnist", epochs=epochs, seed=1, augment=augment)
    from edgekit.data.sources import DataSources

    return train(config, out, sources=DataSources(preloaded=dataset))


@pytest.fixture(scope="session")
def dense_run(tiny_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory):
    """A dense model trained for 8 epochs on the tiny dataset; its run folder is shared, do not modify it."""
    return _train_run("dense", tiny_dataset, tmp_path_factory.mktemp("dense-run"), epochs=8)


@pytest.fixture(scope="session")
def cnn_run(tiny_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory):
    """A CNN trained for 6 epochs (no augmentation: it converges faster) on the tiny dataset.

    An under-trained model sits near decision boundaries, where int8 rounding flips answers; this one
    is confident enough for the issue's parity bands. Its run folder is shared, do not modify it."""
    return _train_run("cnn", tiny_dataset, tmp_path_factory.mktemp("cnn-run"), epochs=6, augment=False)


def write_idx_dataset(folder: Path, n_train: int = 120, n_test: int = 40, seed: int = 0) -> None:
    """Write the four standard IDX .gz files of a small synthetic dataset (labels 0..9 cycling)."""
    from edgekit.data import IDX_FILES
    from edgekit.idx import write_idx

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, n in (("train", n_train), ("test", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):  # a bright bar whose position encodes the label: learnable
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
        write_idx(folder / f"{IDX_FILES[f'{kind}_images']}.gz", images)
        write_idx(folder / f"{IDX_FILES[f'{kind}_labels']}.gz", labels)


@pytest.fixture(scope="session")
def dense_artifacts(dense_run, tmp_path_factory: pytest.TempPathFactory):
    """Every format x mode of the dense fixture model, converted once."""
    from edgekit.convert import ConvertOptions, convert_all
    from edgekit.formats import expand

    options = ConvertOptions(out_dir=tmp_path_factory.mktemp("dense-artifacts"), parity_samples=300)
    return {r.name: r for r in convert_all(dense_run.run_dir, expand(["all"], ["all"]), options)}


@pytest.fixture(scope="session")
def cnn_artifacts(cnn_run, tmp_path_factory: pytest.TempPathFactory):
    """Every format x mode of the CNN fixture model, converted once."""
    from edgekit.convert import ConvertOptions, convert_all
    from edgekit.formats import expand

    options = ConvertOptions(out_dir=tmp_path_factory.mktemp("cnn-artifacts"), parity_samples=300)
    return {r.name: r for r in convert_all(cnn_run.run_dir, expand(["all"], ["all"]), options)}


@pytest.fixture(scope="session", autouse=True)
def _probe_verdicts_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """runtime.safety.admission records probe verdicts under EDGEKIT_CACHE_DIR: the session's, not the user's."""
    os.environ["EDGEKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("edgekit-cache"))
