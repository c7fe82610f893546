"""uint8 pixels -> the interpreter's input tensor in one numpy ufunc with ``out=`` (the prepared call's fill).

Valid only when preprocessing is the same for every pixel: then pixel k always becomes the same tensor
value ``table[k]`` (preprocessing and input quantization folded). The cheapest single ufunc that reproduces
the table exactly is chosen, checked on all 256 values: for pixels / 255 an int8 input with zero point
-128 is a sign-bit flip (x ^ 0x80), a float input one multiply (uint8 -> float32 is exact, then the same
float32 multiply as the general path); otherwise a table lookup (``take``).
Measured at batch 1 (784 pixels): flip ~0.3 us, multiply ~0.5 us, lookup ~2 us. Big float batches cast first,
then multiply in place: the same values, faster than the mixed-type multiply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.contract import Preprocessing

Ufunc = Callable[[np.ndarray, Any, np.ndarray], object]  # (raw uint8 samples, operand, out) -> writes out
SMALL = 1 << 14  # values; above this, filling the interpreter's own input tensor beats a buffer + set_tensor


@dataclass(frozen=True)
class PixelFill:
    """One ufunc from raw uint8 samples to input tensor values; its ``out`` is viewed as ``view_dtype``."""

    ufunc: Ufunc
    constant: np.generic | np.ndarray  # the second operand (a scalar, or the lookup table)
    view_dtype: np.dtype
    big_ufunc: Ufunc | None = None  # the same values by a faster chain for big batches

    def step(self, out: np.ndarray) -> tuple[Ufunc, Any, np.ndarray]:
        """(ufunc, operand, out) writing ``out`` (already viewed and shaped like the raw samples).

        A scalar becomes an array shaped like ``out`` for small batches: at batch 1 a scalar operand costs
        the ufunc ~0.3 us, as much as the flip itself; big batches keep the scalar (nothing to read)."""
        operand = self.constant
        if out.size > SMALL:
            return self.big_ufunc or self.ufunc, operand, out
        if isinstance(operand, np.generic):
            operand = np.full(out.shape, operand, dtype=operand.dtype)
        return self.ufunc, operand, out

    def write(self, raw: np.ndarray, tensor: np.ndarray) -> None:
        """Write raw samples straight into an input tensor (big batches: saves set_tensor's copy)."""
        ufunc, operand, out = self.step(tensor.reshape(raw.shape).view(self.view_dtype))
        ufunc(raw, operand, out)


def _cast_then_multiply(raw: np.ndarray, scale: Any, out: np.ndarray) -> object:
    """uint8 -> float32 (exact), then the float32 multiply in place: the values of ``multiply(raw, scale)``,
    and at 200,000 pixels faster (32 us against 41 us: the mixed-type loop casts through a small buffer)."""
    np.copyto(out, raw)
    return np.multiply(out, scale, out)


def _take(raw: np.ndarray, table: np.ndarray, out: np.ndarray) -> object:
    return table.take(raw, out=out, mode="wrap")


def pixel_fill(table: np.ndarray, pre: Preprocessing) -> PixelFill:
    """The cheapest exact single ufunc for a pixel table (``out`` is passed positionally: a keyword costs
    the ufunc ~0.3 us at batch 1)."""
    pixels = np.arange(256, dtype=np.uint8)
    if table.dtype == np.int8 and np.array_equal(table.view(np.uint8), pixels ^ np.uint8(0x80)):
        return PixelFill(np.bitwise_xor, np.uint8(0x80), np.dtype(np.uint8))
    if table.dtype == np.float32 and pre.kind == "scale" and pre.offset == 0.0:
        scale = np.float32(pre.scale)
        if np.array_equal(table, np.multiply(pixels, scale, dtype=np.float32)):
            return PixelFill(np.multiply, scale, table.dtype, _cast_then_multiply)
    return PixelFill(_take, table, table.dtype)
