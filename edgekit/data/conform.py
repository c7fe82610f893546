"""Arrays the user hands over, checked and adapted to a model's contract: shape, channels, dtype, range, labels.

Adapting is limited to what cannot change meaning: (N, H, W, 1) <-> (N, H, W), a flat (N, H*W) row back to
its image shape, uint8-valued integers stored wider, floats in 0..1 scaled to 0..255 for an 8-bit model
(said in the notes). Everything else (a wrong channel count, a wrong size, integers above 255, values
outside the model's range, a label outside the class list) is one DataError naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.contract import Contract
from edgekit.data.splits import PIXEL_VALUE_RANGE, check_labels
from edgekit.errors import DataError

UNIT_RANGE = (0.0, 1.0)


@dataclass(frozen=True)
class Conformed:
    """Images ready for a Split, the raw value range they hold, and what was done to them."""

    images: np.ndarray
    value_range: tuple[float, float]
    notes: tuple[str, ...] = ()


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _channels(sample_shape: tuple[int, ...], where: str) -> int:
    """1 or 3 for images, 0 for flat rows; anything else is an error."""
    if len(sample_shape) == 1:
        return 0
    if len(sample_shape) == 2:
        return 1
    if len(sample_shape) == 3 and sample_shape[-1] in (1, 3):
        return sample_shape[-1]
    raise DataError(
        f"{where} holds samples of shape {sample_shape}; edgekit reads (H, W), (H, W, 1), (H, W, 3) or (D,) features"
    )


def _fit_shape(images: np.ndarray, where: str, contract: Contract | None) -> tuple[np.ndarray, list[str]]:
    """(N, ...) images in the contract's raw shape, or without one in their own (grayscale squeezed)."""
    if images.ndim < 2:
        raise DataError(f"{where} holds an array of shape {images.shape}; expected one sample per row (N, ...)")
    sample = tuple(images.shape[1:])
    channels = _channels(sample, where)
    if channels == 1 and len(sample) == 3:
        images, sample = images[..., 0], sample[:2]
    if contract is None:
        return images, []
    raw = contract.raw_shape
    if sample == raw:
        return images, []
    if channels == 0 or not contract.is_image:
        if int(np.prod(sample)) == int(np.prod(raw)):
            return images.reshape((images.shape[0], *raw)), [f"{where}: samples of shape {sample} read as {raw}"]
        raise DataError(f"{where} holds samples of shape {sample}; the model takes {raw}")
    want = contract.channels
    if channels != want:
        raise DataError(
            f"{where} holds {channels}-channel images ({_shape_text(sample)}); the model takes "
            f"{want}-channel images ({_shape_text(raw)})",
            "convert the images to " + ("grayscale" if want == 1 else "RGB"),
        )
    raise DataError(
        f"{where} holds {_shape_text(sample[:2])} images; the model takes {_shape_text(raw[:2])}",
        "resize the images, or give them as a folder of image files (resized automatically)",
    )


def _check_dtype(images: np.ndarray, where: str) -> None:
    if images.dtype.kind not in "uif":
        raise DataError(f"{where} holds {images.dtype} values; images must be integers or floats")
    if images.dtype.kind == "f" and images.size and not np.isfinite(images).all():
        raise DataError(f"{where} holds NaN or infinite values")


def _as_pixels(images: np.ndarray, where: str) -> tuple[np.ndarray, list[str]]:
    """uint8 0..255 for an 8-bit model: integers as they are, floats in 0..1 scaled."""
    if images.size == 0:
        return images.astype(np.uint8), []
    low, high = float(images.min()), float(images.max())
    if images.dtype.kind in "ui":
        if low < 0 or high > 255:
            raise DataError(
                f"{where} holds integer values {low:g}..{high:g}, outside 0..255",
                "8-bit images hold 0..255; rescale the data (integers are never wrapped)",
            )
        return images.astype(np.uint8), []
    if low >= 0 and high <= 1:
        note = f"{where}: float values in 0..1 scaled to 0..255 (x * 255, rounded) for an 8-bit model"
        return np.rint(images.astype(np.float64) * 255).astype(np.uint8), [note]
    if low >= 0 and high <= 255:
        rounded = np.rint(images)
        notes = [] if np.array_equal(rounded, images) else [f"{where}: float pixel values rounded to integers"]
        return rounded.astype(np.uint8), notes
    raise DataError(
        f"{where} holds float values {low:g}..{high:g}; an 8-bit image model takes 0..255 (or floats in 0..1)"
    )


def _own_range(images: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Without a contract: integers must be 8-bit pixels; floats keep their values and name their range."""
    if images.dtype.kind in "ui" or images.size == 0:
        return images, PIXEL_VALUE_RANGE
    low, high = float(images.min()), float(images.max())
    for candidate in (UNIT_RANGE, PIXEL_VALUE_RANGE):
        if candidate[0] <= low and high <= candidate[1]:
            return images.astype(np.float32), candidate
    return images.astype(np.float32), (low, high)


def conform_images(images: np.ndarray, where: str, contract: Contract | None = None) -> Conformed:
    """Images checked and adapted to ``contract`` (or, without one, to edgekit's own forms)."""
    images = np.asarray(images)
    _check_dtype(images, where)
    images, notes = _fit_shape(images, where, contract)
    if contract is None:
        if images.dtype.kind in "ui":
            images, more = _as_pixels(images, where)
            notes += more
        images, value_range = _own_range(images)
        return Conformed(images, value_range, tuple(notes))
    if contract.is_8bit_image:
        images, more = _as_pixels(images, where)
        return Conformed(images, PIXEL_VALUE_RANGE, tuple(notes + more))
    low, high = contract.input_range
    if images.size:
        found_low, found_high = float(images.min()), float(images.max())
        slack = 1e-6 * (high - low)
        if found_low < low - slack or found_high > high + slack:
            raise DataError(
                f"{where} holds values {found_low:g}..{found_high:g}, outside the model's input range {low:g}..{high:g}"
            )
    return Conformed(images.astype(np.float32), (low, high), tuple(notes))


def common_scale(sets: dict[str, Conformed], where: str) -> dict[str, Conformed]:
    """Sets given apart (train, test) on one scale: floats in 0..1 beside 8-bit pixels become pixels too.

    Otherwise the union of the two ranges (0..255) would divide the 0..1 floats by 255 a second time.
    """
    ranges = {c.value_range for c in sets.values()}
    if ranges != {UNIT_RANGE, PIXEL_VALUE_RANGE}:
        return sets
    scaled = {}
    for name, c in sets.items():
        if c.value_range != UNIT_RANGE:
            scaled[name] = c
            continue
        note = f"{where} {name}: float values in 0..1 scaled to 0..255 (x * 255, rounded), the other set's pixels"
        pixels = np.rint(c.images.astype(np.float64) * 255).astype(np.uint8)
        scaled[name] = Conformed(pixels, PIXEL_VALUE_RANGE, (*c.notes, note))
    return scaled


def conform_labels(labels: np.ndarray, n_images: int, num_classes: int | None, where: str) -> np.ndarray:
    """Labels as (N,) int64 in 0..num_classes-1 (None: any non-negative); one-hot rows are read as their class."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    elif (
        labels.ndim == 2
        and labels.shape[1] > 1
        and labels.size
        and set(np.unique(labels).tolist()) <= {0, 1}
        and (labels.sum(axis=1) == 1).all()
    ):
        labels = labels.argmax(axis=1)
    if labels.ndim != 1:
        raise DataError(f"{where} labels have shape {labels.shape}; expected one class index per image (N,)")
    if labels.shape[0] != n_images:
        raise DataError(f"{where} has {labels.shape[0]} labels for {n_images} images")
    if labels.dtype.kind not in "uif" or (labels.dtype.kind == "f" and not np.array_equal(labels, np.rint(labels))):
        raise DataError(f"{where} labels are {labels.dtype} values, not class indices")
    labels = labels.astype(np.int64)
    if num_classes is None and labels.size and labels.min() < 0:
        raise DataError(f"{where}: label {labels.min()} is negative; labels must index the class list")
    if num_classes is not None:
        check_labels(labels, num_classes, where)
    return labels
