"""The ``digits`` dataset: scikit-learn's bundled 1,797 real 8x8 handwritten digits (values 0..16, no download)."""

from __future__ import annotations

import numpy as np

from edgekit.data.splits import Dataset, Split, split_three_ways
from edgekit.errors import DataError

DIGITS_NAME = "digits"
DIGITS_RANGE = (0.0, 16.0)


def load_digits_dataset() -> Dataset:
    """1,797 digits as float32 (N, 8, 8) in 0..16, split stratified 80/10/10 with a fixed seed."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DataError(
            "the digits dataset needs scikit-learn, which is not installed",
            "pip install 'edgekit[train]' (scikit-learn comes with mlxtend)",
        ) from exc
    bunch = load_digits()
    whole = Split(np.asarray(bunch.images, dtype=np.float32), np.asarray(bunch.target, dtype=np.int64))
    train, validation, test, note = split_three_ways(whole)
    return Dataset(
        DIGITS_NAME,
        tuple(str(d) for d in range(10)),
        "sklearn-digits",
        "sklearn.datasets.load_digits",
        True,
        train,
        validation,
        test,
        value_range=DIGITS_RANGE,
        split_note=note,
    )
