"""What a capture holds, for every format: the TFLite capture (``capture.py``) and the ONNX one
(``capture_onnx.py``) both make these, so the types live apart from either."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CapturedTensor:
    """One activation of the artifact on the whole debug set."""

    name: str  # the tensor's name in the artifact (what Model Explorer shows)
    scope: str  # the name that carries the layer scopes (TFLite: the tensor name; ONNX: its node's name)
    order: int  # position in execution order
    values: np.ndarray  # float32, dequantized
    dtype: str  # as stored in the artifact: int8, float32, ...
    scale: float = 0.0  # quantization step (0: a float tensor)
    zero_point: int = 0
    op: str = ""  # the op that computed it: CONV_2D, Conv, Transpose, ... ("" for the input)
    channels_first: bool | None = False  # NCHW where Keras is NHWC (None: not known, read off the shape)
    reads: tuple[str, ...] = ()  # the activations its op read (their names)
    moves_only: bool = False  # its op only moves its input's values (a layout transpose): no layer's output


@dataclass(frozen=True)
class Capture:
    """Every activation of one artifact, with its input and output tensor names."""

    tensors: tuple[CapturedTensor, ...]
    input_name: str
    output_name: str
