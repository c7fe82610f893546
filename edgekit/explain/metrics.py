"""How far an artifact's activation is from the Keras reference's, on the whole debug set.

SQNR is 10 log10(signal energy / error energy) in dB, as onnxruntime's ``qdq_loss_debug`` computes it;
it is clipped to +-SQNR_LIMIT_DB so that identical tensors give a number (200 dB) instead of infinity.
The error relative to the quantization step (rmse / scale) is about 0.289 (1/sqrt(12)) when an int8
tensor carries nothing but its own rounding, more when it also inherits error from earlier layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SQNR_LIMIT_DB = 200.0
ROUNDING_ONLY = 1 / math.sqrt(12)  # rmse / scale of uniform rounding noise


@dataclass(frozen=True)
class Comparison:
    """One tensor against its reference."""

    sqnr_db: float
    cosine: float
    max_abs_error: float
    mean_abs_error: float
    rmse_over_scale: float | None  # int8 tensors only


def sqnr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB, clipped to +-SQNR_LIMIT_DB."""
    ref = np.asarray(reference, np.float64)
    noise = float(np.sum((ref - np.asarray(actual, np.float64)) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0:
        return SQNR_LIMIT_DB
    if signal == 0:
        return -SQNR_LIMIT_DB
    return float(np.clip(10 * math.log10(signal / noise), -SQNR_LIMIT_DB, SQNR_LIMIT_DB))


def cosine(reference: np.ndarray, actual: np.ndarray) -> float:
    """Cosine similarity of the two tensors, flattened (1.0 when both are zero)."""
    a, b = np.asarray(reference, np.float64).ravel(), np.asarray(actual, np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0:
        return 1.0 if not a.any() and not b.any() else 0.0
    return float(np.dot(a, b) / norms)


def compare(reference: np.ndarray, actual: np.ndarray, scale: float = 0.0) -> Comparison:
    """Every metric of ``actual`` against ``reference`` (same shape); ``scale``: the int8 step, 0 for float."""
    error = np.abs(np.asarray(actual, np.float64) - np.asarray(reference, np.float64))
    rmse = float(np.sqrt(np.mean(error**2))) if error.size else 0.0
    return Comparison(
        sqnr_db=sqnr_db(reference, actual),
        cosine=cosine(reference, actual),
        max_abs_error=float(error.max()) if error.size else 0.0,
        mean_abs_error=float(error.mean()) if error.size else 0.0,
        rmse_over_scale=rmse / scale if scale else None,
    )
