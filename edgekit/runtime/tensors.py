"""What a backend says about its model's input and output tensors, in one form for every interpreter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ArtifactError

ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor: shape with -1 for dynamic dimensions; scale 0 means not quantized."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0

    @property
    def quant(self) -> tuple[float, int]:
        return self.scale, self.zero_point

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the tensor was exported with, or None when it takes any batch."""
        return self.shape[0] if self.shape and self.shape[0] > 0 else None


def tflite_info(detail: dict[str, Any]) -> TensorInfo:
    """A TFLite interpreter's tensor detail (shape_signature keeps -1 for dynamic dimensions)."""
    scale, zero_point = detail["quantization"]
    return TensorInfo(
        name=str(detail["name"]),
        shape=tuple(int(d) for d in detail["shape_signature"]),
        dtype=np.dtype(detail["dtype"]),
        scale=float(scale),
        zero_point=int(zero_point),
    )


def onnx_info(arg: Any, path: Path) -> TensorInfo:
    """An onnxruntime NodeArg; its element type must be one edgekit can feed or read."""
    dtype = ONNX_DTYPES.get(arg.type)
    if dtype is None:
        raise ArtifactError(
            f"{path}: tensor {arg.name!r} has type {arg.type}, which edgekit does not run",
            f"supported: {', '.join(ONNX_DTYPES)}",
        )
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in arg.shape)
    return TensorInfo(name=arg.name, shape=shape, dtype=np.dtype(dtype))  # QDQ models keep float I/O
