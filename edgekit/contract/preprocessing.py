"""Preprocessing: raw values -> model values, ``x * scale + offset`` or ``(x - mean) / std``.

Each parameter is a number, one number per channel, or an array broadcastable to the input (per-pixel
statistics are common). numpy only: the device runtime uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edgekit.errors import ModelError, UsageError


def as_param(value: Any, name: str) -> float | np.ndarray:
    """A preprocessing parameter as a float or a float64 array; NaN, inf and empty arrays are refused."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise UsageError(f"preprocessing {name} must be a finite number, got {value}")
        return number
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"preprocessing {name} must be a number or a list of numbers, got {value!r}") from None
    if array.size == 0 or not np.isfinite(array).all():
        raise UsageError(
            f"preprocessing {name} must be finite numbers, got {array.size} value(s) with NaN/inf or none at all"
        )
    return float(array) if array.ndim == 0 else array


def _param_to_json(value: float | np.ndarray) -> float | list[Any]:
    return value.tolist() if isinstance(value, np.ndarray) else value


@dataclass(frozen=True, eq=False)
class Preprocessing:
    """Raw values -> model values: ``x * scale + offset`` or ``(x - mean) / std``."""

    kind: str = "scale"  # "scale" or "standardize"
    scale: float | np.ndarray = 1.0 / 255.0
    offset: float | np.ndarray = 0.0
    mean: float | np.ndarray = 0.0
    std: float | np.ndarray = 1.0

    @staticmethod
    def scaling(scale: Any = 1.0 / 255.0, offset: Any = 0.0) -> Preprocessing:
        """``x * scale + offset``; scale must be non-zero."""
        pre = Preprocessing("scale", as_param(scale, "scale"), as_param(offset, "offset"))
        if np.any(np.asarray(pre.scale) == 0):
            raise UsageError("preprocessing scale must not be 0")
        return pre

    @staticmethod
    def standardizing(mean: Any, std: Any) -> Preprocessing:
        """``(x - mean) / std``; every std must be positive (zeros are commonly replaced by 1 beforehand)."""
        pre = Preprocessing("standardize", mean=as_param(mean, "mean"), std=as_param(std, "std"))
        if np.any(np.asarray(pre.std) <= 0):
            raise UsageError(
                "preprocessing std must be positive everywhere",
                "replace zero standard deviations by 1, as the usual tutorials do",
            )
        return pre

    @staticmethod
    def identity() -> Preprocessing:
        """Raw values go in unchanged (the model normalises them itself, e.g. with a Rescaling layer)."""
        return Preprocessing("scale", 1.0, 0.0)

    @property
    def is_identity(self) -> bool:
        return self.kind == "scale" and _same(self.scale, 1.0) and _same(self.offset, 0.0)

    def affine(self) -> tuple[float | np.ndarray, float | np.ndarray]:
        """(a, b) such that model value = raw * a + b."""
        if self.kind == "scale":
            return self.scale, self.offset
        return 1.0 / np.asarray(self.std) if isinstance(self.std, np.ndarray) else 1.0 / self.std, -np.asarray(
            self.mean
        ) / np.asarray(self.std) if isinstance(self.mean, np.ndarray) or isinstance(
            self.std, np.ndarray
        ) else -self.mean / self.std

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """float32 model values from raw values already shaped like the model input (broadcasting)."""
        x = np.asarray(raw, dtype=np.float32)
        if self.kind == "scale":
            return (
                x * np.float32(self.scale)
                if not isinstance(self.scale, np.ndarray)
                else x * self.scale.astype(np.float32)
            ) + np.asarray(self.offset, np.float32)
        return (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)

    def fit_to(self, shape: tuple[int, ...]) -> Preprocessing:
        """Reshape array parameters to broadcast against ``(N, *shape)``, or fail naming the shapes."""
        params: dict[str, Any] = {}
        for name in ("scale", "offset", "mean", "std"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                params[name] = _broadcastable(value, shape, name)
        return replace(self, **params) if params else self

    def describe(self) -> str:
        """One short human line, e.g. 'x * 0.00392 + 0' or '(x - mean[28x28]) / std[28x28]'."""

        def show(v: float | np.ndarray) -> str:
            return (
                f"[{'x'.join(str(d) for d in v.shape)}]"
                if isinstance(v, np.ndarray) and v.size > 3
                else (
                    "[" + ", ".join(f"{x:.4g}" for x in np.ravel(v)) + "]" if isinstance(v, np.ndarray) else f"{v:.6g}"
                )
            )

        if self.kind == "scale":
            return "raw values unchanged" if self.is_identity else f"x * {show(self.scale)} + {show(self.offset)}"
        return f"(x - {show(self.mean)}) / {show(self.std)}"

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "scale":
            return {"kind": "scale", "scale": _param_to_json(self.scale), "offset": _param_to_json(self.offset)}
        return {"kind": "standardize", "mean": _param_to_json(self.mean), "std": _param_to_json(self.std)}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Preprocessing:
        if not isinstance(data, Mapping):
            raise ModelError(f"preprocessing must be an object, got {type(data).__name__}")
        kind = data.get("kind", "standardize" if "mean" in data or "std" in data else "scale")
        try:
            if kind == "scale":
                return Preprocessing.scaling(data.get("scale", 1.0), data.get("offset", 0.0))
            if kind == "standardize":
                return Preprocessing.standardizing(data["mean"], data["std"])
        except KeyError as exc:
            raise ModelError(f"preprocessing of kind {kind!r} lacks {exc.args[0]!r}") from None
        raise ModelError(f"unknown preprocessing kind {kind!r}", "known: scale, standardize")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Preprocessing):
            return NotImplemented
        return self.kind == other.kind and all(
            _same(getattr(self, n), getattr(other, n)) for n in ("scale", "offset", "mean", "std")
        )

    __hash__ = None  # type: ignore[assignment]


def _same(a: float | np.ndarray, b: float | np.ndarray) -> bool:
    return bool(np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64)))


def _broadcastable(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` reshaped so that it broadcasts against (N, *shape): per channel, per pixel, or as given."""
    try:
        np.broadcast_shapes(value.shape, (1, *shape))
        return value
    except ValueError:
        pass
    if value.ndim == 1 and len(shape) == 3 and value.size == shape[-1]:
        return value  # per channel, channels last
    if value.size == int(np.prod(shape)):
        return value.reshape(shape)  # per pixel, given without (or with another) channel axis
    raise UsageError(
        f"preprocessing {name} has shape {value.shape}, which does not fit the model input {shape}",
        "give one number, one per channel, or one per input value",
    )
