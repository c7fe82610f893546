"""The model contract: what a classifier takes and returns, as one typed, serialisable object.

A contract says, for one sample:

- ``input_shape``: the model's input without the batch axis: ``(H, W)``, ``(H, W, C)`` with C = 1 or 3,
  or ``(D,)`` features; ``layout`` says where the channel axis is for the *model* (``channels_last``,
  or ``channels_first`` for NCHW models; raw images are always channels-last);
- ``input_range``: the raw values a user hands over (0..255 for 8-bit images, anything for features);
- ``preprocessing``: raw values -> model values, either ``x * scale + offset`` or ``(x - mean) / std``,
  where each parameter is a number, one number per channel, or an array broadcastable to the input;
- ``output_kind``: ``logits`` or ``probabilities`` (probabilities are never softmaxed again);
- ``class_names``: one per output.

Every path (calibration, parity, bench, the runtime, ``edgekit predict``) turns raw inputs into model
inputs with :meth:`Contract.model_input`, and outputs into probabilities with :meth:`Contract.probabilities`.
A contract is small data: it travels in run manifests, sidecars and the metadata embedded in artifacts.
This module imports numpy only; the device runtime uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from edgekit.contract.preprocessing import Preprocessing
from edgekit.errors import ModelError, UsageError

CONTRACT_VERSION = 1
PIXEL_RANGE = (0.0, 255.0)
MAX_CLASSES = 100_000


class OutputKind(str, Enum):
    """What a classifier's output vector holds."""

    LOGITS = "logits"
    PROBABILITIES = "probabilities"


class Layout(str, Enum):
    """Where the model wants the channel axis of an image."""

    CHANNELS_LAST = "channels_last"  # NHWC: Keras, TFLite
    CHANNELS_FIRST = "channels_first"  # NCHW: PyTorch exports


@dataclass(frozen=True, eq=False)
class Contract:
    """What a classifier takes and returns; see the module docstring."""

    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    output_kind: OutputKind = OutputKind.LOGITS
    input_range: tuple[float, float] = PIXEL_RANGE
    layout: Layout = Layout.CHANNELS_LAST
    sources: Mapping[str, str] = field(default_factory=dict)  # part -> where it came from (not compared)

    def __post_init__(self) -> None:
        shape = tuple(int(d) for d in self.input_shape)
        if not 1 <= len(shape) <= 3 or any(d < 1 for d in shape):
            raise ModelError(
                f"input shape {shape} is not a classifier input edgekit handles",
                "supported: (H, W), (H, W, C) with C = 1 or 3, or (D,) features",
            )
        if len(shape) == 3 and self.channels not in (1, 3):
            raise ModelError(f"input shape {shape} has {self.channels} channels; edgekit handles 1 or 3")
        if not self.class_names or len(self.class_names) > MAX_CLASSES:
            raise ModelError(f"a classifier needs between 1 and {MAX_CLASSES} class names, got {len(self.class_names)}")
        low, high = (float(v) for v in self.input_range)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ModelError(f"input range {self.input_range} is not a finite interval")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "input_range", (low, high))
        object.__setattr__(self, "output_kind", OutputKind(self.output_kind))
        object.__setattr__(self, "layout", Layout(self.layout))
        object.__setattr__(self, "preprocessing", self.preprocessing.fit_to(self.model_shape))
        object.__setattr__(self, "sources", dict(self.sources))

    # ------------------------------------------------------------------------------ shape facts
    @property
    def is_image(self) -> bool:
        return len(self.input_shape) >= 2

    @property
    def channels(self) -> int:
        """1 for grayscale (with or without a channel axis), 3 for RGB, 0 for features."""
        if len(self.input_shape) == 2:
            return 1
        if len(self.input_shape) == 1:
            return 0
        return self.input_shape[0] if self.layout is Layout.CHANNELS_FIRST else self.input_shape[-1]

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(height, width) of an image input, None for features."""
        if not self.is_image:
            return None
        if len(self.input_shape) == 2:
            return self.input_shape[0], self.input_shape[1]
        return self.input_shape[1:] if self.layout is Layout.CHANNELS_FIRST else self.input_shape[:2]  # type: ignore[return-value]

    @property
    def raw_shape(self) -> tuple[int, ...]:
        """One raw sample as users hold it: (H, W) grayscale, (H, W, 3) RGB (channels last), or (D,)."""
        if not self.is_image:
            return self.input_shape
        h, w = self.image_size  # type: ignore[misc]
        return (h, w) if self.channels == 1 else (h, w, 3)

    @property
    def model_shape(self) -> tuple[int, ...]:
        """One sample as preprocessing sees it: raw values laid out channels-last with the model's rank."""
        if self.is_image and len(self.input_shape) == 3 and self.layout is Layout.CHANNELS_FIRST:
            return (*self.image_size, self.channels)  # type: ignore[misc]
        return self.input_shape

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_8bit_image(self) -> bool:
        return self.is_image and self.input_range == PIXEL_RANGE

    # ----------------------------------------------------------------------------- the one path
    def shape_raw(self, raw: np.ndarray) -> np.ndarray:
        """Raw samples (N, *raw_shape) or one sample -> (N, *model_shape), or one clear error."""
        array = np.asarray(raw)
        if array.shape == self.raw_shape or array.shape == self.model_shape:
            array = array[None]
        if array.ndim >= 1 and array.shape[1:] == self.raw_shape and self.raw_shape != self.model_shape:
            array = array.reshape((array.shape[0], *self.model_shape))
        if array.ndim < 1 or array.shape[1:] != self.model_shape:
            want = ", ".join(str(s) for s in dict.fromkeys([self.raw_shape, self.model_shape]))
            raise UsageError(
                f"inputs have shape {np.asarray(raw).shape}; this model takes samples of shape {want} "
                "(optionally with a leading batch axis)"
            )
        return array

    def model_input(self, raw: np.ndarray) -> np.ndarray:
        """Raw samples -> float32 model inputs (N, *input_shape): shaped, preprocessed, laid out."""
        x = self.preprocessing.apply(self.shape_raw(raw))
        if self.layout is Layout.CHANNELS_FIRST and x.ndim == 4:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return x

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities from float outputs: softmax of logits; probabilities as they are."""
        if self.output_kind is OutputKind.PROBABILITIES:
            return np.asarray(outputs, dtype=np.float64)
        return softmax(np.asarray(outputs, dtype=np.float64))

    # ------------------------------------------------------------------------------ describing
    def describe(self) -> str:
        """One line: what goes in, how it is prepared, what comes out, and where each part came from."""
        src = self.sources
        shape = "x".join(str(d) for d in self.input_shape)
        part = [
            f"input {shape}"
            + (" NCHW" if self.layout is Layout.CHANNELS_FIRST else "")
            + (f" ({src['input_shape']})" if "input_shape" in src else ""),
            f"{self.preprocessing.describe()}" + (f" ({src['preprocessing']})" if "preprocessing" in src else ""),
            f"outputs {self.output_kind.value}" + (f" ({src['output_kind']})" if "output_kind" in src else ""),
            f"{self.num_classes} classes" + (f" ({src['class_names']})" if "class_names" in src else ""),
        ]
        return "; ".join(part)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CONTRACT_VERSION,
            "input_shape": list(self.input_shape),
            "layout": self.layout.value,
            "input_range": list(self.input_range),
            "preprocessing": self.preprocessing.to_dict(),
            "output_kind": self.output_kind.value,
            "class_names": list(self.class_names),
            "sources": dict(self.sources),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Contract:
        """A contract from its JSON form; malformed data is a ModelError naming the field."""
        if not isinstance(data, Mapping):
            raise ModelError(f"contract must be an object, got {type(data).__name__}")
        version = data.get("version", CONTRACT_VERSION)
        if version != CONTRACT_VERSION:
            raise ModelError(
                f"contract version {version!r} is not one this edgekit reads ({CONTRACT_VERSION})", "upgrade edgekit"
            )
        try:
            shape = tuple(int(d) for d in data["input_shape"])
            names = data["class_names"]
            if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
                raise ModelError("contract class_names must be a list of names")
            low, high = data.get("input_range", PIXEL_RANGE)
            return Contract(
                input_shape=shape,
                class_names=tuple(str(n) for n in names),
                preprocessing=Preprocessing.from_dict(data.get("preprocessing") or {"kind": "scale"}),
                output_kind=OutputKind(data.get("output_kind", "logits")),
                input_range=(float(low), float(high)),
                layout=Layout(data.get("layout", Layout.CHANNELS_LAST.value)),
                sources={str(k): str(v) for k, v in (data.get("sources") or {}).items()},
            )
        except KeyError as exc:
            raise ModelError(f"contract lacks the field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"contract is malformed: {exc}") from None
        except UsageError as exc:
            raise ModelError(f"contract is invalid: {exc.message}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Contract):
            return NotImplemented
        return (self.input_shape, self.class_names, self.output_kind, self.input_range, self.layout) == (
            other.input_shape,
            other.class_names,
            other.output_kind,
            other.input_range,
            other.layout,
        ) and self.preprocessing == other.preprocessing

    __hash__ = None  # type: ignore[assignment]


def softmax(logits: np.ndarray, dtype: Any = None) -> np.ndarray:
    """Row-wise, max-shifted softmax, computed in ``dtype`` (default: the logits' own)."""
    z = logits if dtype is None else logits.astype(dtype)
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def looks_like_probabilities(outputs: np.ndarray, tolerance: float = 1e-3) -> bool:
    """Rows non-negative, at most 1 and summing to 1: what a softmax head gives."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim != 2 or out.shape[0] == 0 or not np.isfinite(out).all():
        return False
    return bool((out >= -1e-6).all() and (out <= 1 + 1e-6).all() and np.allclose(out.sum(axis=1), 1.0, atol=tolerance))


# ---------------------------------------------------------------------------------- declaring


def mnist_contract(class_names: Sequence[str] | None = None, input_shape: tuple[int, ...] = (28, 28)) -> Contract:
    """The contract of every model edgekit trains: 28x28 pixels / 255, logits out."""
    return Contract(
        input_shape=input_shape,
        class_names=tuple(class_names or (str(d) for d in range(10))),
        preprocessing=Preprocessing.scaling(1.0 / 255.0, 0.0),
        output_kind=OutputKind.LOGITS,
    )


def from_legacy_metadata(metadata: Mapping[str, Any], input_shape: tuple[int, ...]) -> Contract:
    """The contract of an artifact written before contracts existed (preprocessing dict + output_kind)."""
    legacy = metadata.get("preprocessing") or {}
    if not isinstance(legacy, Mapping):
        raise ModelError("metadata field 'preprocessing' must be an object")
    try:
        pre = Preprocessing.scaling(legacy.get("scale", 1.0 / 255.0), legacy.get("offset", 0.0))
    except UsageError as exc:
        raise ModelError(f"metadata preprocessing is invalid: {exc.message}") from None
    names = metadata.get("class_names") or [str(d) for d in range(10)]
    return Contract(
        input_shape=input_shape,
        class_names=tuple(str(n) for n in names),
        preprocessing=pre,
        output_kind=OutputKind(metadata.get("output_kind", "logits")),
        sources={"preprocessing": "artifact metadata (pre-contract)"},
    )
