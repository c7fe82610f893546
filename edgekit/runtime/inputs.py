"""Raw samples as users hand them over -> checked raw values, then model values via the contract.

The raw input rule:

- integer arrays are raw values and must lie in ``contract.input_range`` (0..255 for 8-bit images);
- float arrays are raw values too, and must be finite and in ``contract.input_range``; except that for
  8-bit image contracts (``contract.is_8bit_image``) a float array lying entirely in [0, 1] is taken as
  pixels already divided by 255 (as ``predict(images / 255)`` has always meant);
- shapes: one sample or a batch, as :meth:`Contract.shape_raw` takes them, plus a trailing channel of 1
  on grayscale images.

Errors are one-line :class:`ArtifactError`s naming what was wrong.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from edgekit.contract import Contract, Preprocessing, mnist_contract
from edgekit.errors import ArtifactError, UsageError

PIXELS = 255.0


def unit_pixel_contract(contract: Contract) -> Contract:
    """The same contract for pixels already divided by 255: preprocessing folded with the * 255.

    Folding (rather than multiplying by 255 first) keeps k / 255 inputs bit-identical to uint8 k inputs.
    """
    pre = contract.preprocessing
    if pre.kind == "scale":
        folded = replace(pre, scale=pre.scale * PIXELS)
    else:  # (255 x - mean) / std = (x - mean / 255) / (std / 255)
        folded = replace(pre, mean=pre.mean / PIXELS, std=pre.std / PIXELS)
    return replace(contract, preprocessing=folded)


def check_raw(contract: Contract, raw: Any) -> tuple[np.ndarray, bool]:
    """Raw samples -> ((N, *model_shape) raw values, whether they are pixels / 255), or one clear error."""
    what = "images" if contract.is_image else "inputs"
    array = np.asarray(raw)
    if array.dtype.kind not in "uif":
        raise ArtifactError(f"{what} of dtype {array.dtype} are not supported; use uint8 or float32")
    array = _shaped(contract, array, what)
    if array.shape[0] == 0:
        raise ArtifactError(f"no {what} to predict")
    low, high = contract.input_range
    if array.dtype.kind in "ui":
        if array.min() < low or array.max() > high:
            raise ArtifactError(f"integer {what} must be in {low:g}..{high:g}, got {array.min()}..{array.max()}")
        return array, False
    if not np.isfinite(array).all():
        raise ArtifactError(f"{what} contain NaN or inf values")
    smallest, largest = float(array.min()), float(array.max())
    if contract.is_8bit_image and smallest >= 0.0 and largest <= 1.0:
        return array, True
    if smallest < low or largest > high:
        unit = " or [0, 1] (pixels / 255)" if contract.is_8bit_image else ""
        raise ArtifactError(
            f"float {what} must be in {low:g}..{high:g}{unit}, got {smallest:.3g}..{largest:.3g}",
            "pass uint8 arrays for 0..255 pixel values" if contract.is_8bit_image else None,
        )
    return array, False


def _shaped(contract: Contract, array: np.ndarray, what: str) -> np.ndarray:
    if (
        contract.is_image
        and contract.channels == 1
        and array.ndim >= 3
        and array.shape[-1] == 1
        and array.shape[-3:-1] == contract.image_size
        and contract.model_shape != array.shape[-3:]
    ):
        array = array[..., 0]  # a trailing channel of 1 on a model without one
    try:
        return contract.shape_raw(array)
    except UsageError:
        want = ", ".join(str(s) for s in dict.fromkeys([contract.raw_shape, contract.model_shape]))
        raise ArtifactError(
            f"{what} have shape {array.shape}; this model takes {want} (optionally with a leading batch axis)",
            "picture files of any size are converted by `edgekit predict`" if contract.is_image else None,
        ) from None


def model_values(contract: Contract, raw: Any, unit_contract: Contract | None = None) -> np.ndarray:
    """Raw samples -> float32 model inputs (N, *input_shape), following the raw input rule."""
    array, unit = check_raw(contract, raw)
    if unit:
        return (unit_contract or unit_pixel_contract(contract)).model_input(array)
    return contract.model_input(array)


def prepare_images(images: Any, contract: Contract | None = None) -> np.ndarray:
    """Images as given by a user -> float32 model inputs; by default for the MNIST contract (N, 28, 28) in [0, 1]."""
    return model_values(contract or mnist_contract(), images)


def is_scalar_scaling(pre: Preprocessing) -> bool:
    """Whether preprocessing is the same for every pixel (the uint8 fast path's condition)."""
    return not any(isinstance(getattr(pre, n), np.ndarray) for n in ("scale", "offset", "mean", "std"))
