"""Float <-> integer tensors, as TFLite and onnxruntime define them: q = round(x / scale + zero_point)."""

from __future__ import annotations

import numpy as np


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype | None = None) -> np.ndarray:
    """Float -> integer with rounding (half to even) and clipping to the dtype (a bare cast gives wrong answers).

    A scale of 0 means "not quantized": the integer tensor takes the values themselves (e.g. raw pixels).
    """
    dtype = np.dtype(np.int8) if dtype is None else dtype
    info = np.iinfo(dtype)
    if scale == 0:
        return np.clip(np.round(x), info.min, info.max).astype(dtype)
    return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Integer -> float32; a scale of 0 (not quantized) keeps the values."""
    if scale == 0:
        return q.astype(np.float32)
    return ((q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def to_tensor_dtype(x: np.ndarray, dtype: np.dtype, quant: tuple[float, int]) -> np.ndarray:
    """Float32 model values -> the tensor's dtype: quantized for integer tensors, cast for float ones."""
    if np.issubdtype(dtype, np.integer):
        return quantize(x, quant[0], quant[1], dtype=dtype)
    return np.ascontiguousarray(x, dtype=dtype)
