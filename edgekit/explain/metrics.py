"""How far an artifact's activation is from the Keras reference's, on the whole debug set.

SQNR is 10 log10(signal energy / error energy) in dB, as onnxruntime's ``qdq_loss_debug`` computes it;
it is clipped to +-SQNR_LIMIT_DB so that identical tensors give a number (200 dB) instead of infinity.
A few outlier features (units, channels) can carry nearly all of a tensor's energy, and so hide that rounding
to their scale wiped out every other one; the feature SQNR (the median over features of each one's own SQNR)
is what a typical feature keeps.
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
    feature_sqnr_db: float  # the median feature's SQNR
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


def feature_sqnr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    """The median over features (each value of one sample: a unit, a pixel of a channel) of each feature's SQNR
    over the debug set; features Keras leaves at zero are skipped. Reshapes and transposes do not change it."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1)
    err = ref - np.asarray(actual, np.float64).reshape(ref.shape)
    signal, noise = np.sum(ref**2, axis=0), np.sum(err**2, axis=0)
    live = signal > 0
    if not live.any():
        return sqnr_db(reference, actual)
    with np.errstate(divide="ignore"):
        per_feature = 10 * np.log10(signal[live] / noise[live])
    return float(np.clip(np.median(per_feature), -SQNR_LIMIT_DB, SQNR_LIMIT_DB))


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
        feature_sqnr_db=feature_sqnr_db(reference, actual),
        cosine=cosine(reference, actual),
        max_abs_error=float(error.max()) if error.size else 0.0,
        mean_abs_error=float(error.mean()) if error.size else 0.0,
        rmse_over_scale=rmse / scale if scale else None,
    )
