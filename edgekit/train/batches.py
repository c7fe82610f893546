"""What Keras' fit() is fed: shuffled, shifted batches, and a callback that reports each epoch."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit.progress import Reporter

MAX_SHIFT_PIXELS = 2  # augmentation: random translation of up to this many pixels each way, for 28x28 images


def max_shift(image_shape: tuple[int, ...]) -> int:
    """Pixels an image may be shifted: 2 at 28x28, in proportion elsewhere (0 for 8x8 digits, whose digit
    fills the frame; none for feature vectors)."""
    if len(image_shape) < 2:
        return 0
    return MAX_SHIFT_PIXELS * min(image_shape[:2]) // 28


def shift_images(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Translate each (H, W) or (H, W, C) image by a random whole number of pixels in [-max_shift, max_shift]
    (the background value 0 fills in: the model-input value of a black pixel for edgekit's contracts)."""
    n, h, w = (int(d) for d in images.shape[:3])
    spatial = ((0, 0), (max_shift, max_shift), (max_shift, max_shift))
    padded = np.pad(images, spatial + ((0, 0),) * (images.ndim - 3))
    dy = rng.integers(0, 2 * max_shift + 1, size=n)
    dx = rng.integers(0, 2 * max_shift + 1, size=n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def shuffled_batches(images: np.ndarray, labels: np.ndarray, config: Any) -> Any:
    """A Keras PyDataset that reshuffles and re-augments every epoch, deterministically from the seed."""
    import keras

    shift = max_shift(images.shape[1:]) if config.augment else 0

    class ShiftedBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0

        def __len__(self) -> int:
            return int(np.ceil(len(images) / config.batch_size))

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            order = np.random.default_rng([config.seed, self.epoch]).permutation(len(images))
            picked = order[index * config.batch_size : (index + 1) * config.batch_size]
            batch = images[picked]
            if shift:
                batch = shift_images(batch, np.random.default_rng([config.seed, self.epoch, index]), shift)
            return batch, labels[picked]

        def on_epoch_end(self) -> None:
            self.epoch += 1

    return ShiftedBatches()


def epoch_reporter(reporter: Reporter, epochs: int) -> Any:
    import keras

    class ReportEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            reporter.advance(
                1,
                f"loss {logs.get('loss', float('nan')):.4f} val_loss {logs.get('val_loss', float('nan')):.4f} "
                f"val_acc {logs.get('val_accuracy', float('nan')):.4f}",
            )

    return ReportEpochs()
