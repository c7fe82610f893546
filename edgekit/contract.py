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
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

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


def _as_param(value: Any, name: str) -> float | np.ndarray:
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
        raise UsageError(f"preprocessing {name} must be finite numbers, got {array.size} value(s) with NaN/inf "
                         "or none at all")
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
        pre = Preprocessing("scale", _as_param(scale, "scale"), _as_param(offset, "offset"))
        if np.any(np.asarray(pre.scale) == 0):
            raise UsageError("preprocessing scale must not be 0")
        return pre

    @staticmethod
    def standardizing(mean: Any, std: Any) -> Preprocessing:
        """``(x - mean) / std``; every std must be positive (zeros are commonly replaced by 1 beforehand)."""
        pre = Preprocessing("standardize", mean=_as_param(mean, "mean"), std=_as_param(std, "std"))
        if np.any(np.asarray(pre.std) <= 0):
            raise UsageError("preprocessing std must be positive everywhere",
                             "replace zero standard deviations by 1, as the usual tutorials do")
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
        return 1.0 / np.asarray(self.std) if isinstance(self.std, np.ndarray) else 1.0 / self.std, \
            -np.asarray(self.mean) / np.asarray(self.std) if isinstance(self.mean, np.ndarray) or isinstance(
                self.std, np.ndarray) else -self.mean / self.std

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """float32 model values from raw values already shaped like the model input (broadcasting)."""
        x = np.asarray(raw, dtype=np.float32)
        if self.kind == "scale":
            return (x * np.float32(self.scale) if not isinstance(self.scale, np.ndarray)
                    else x * self.scale.astype(np.float32)) + np.asarray(self.offset, np.float32)
        return (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)

    def fit_to(self, shape: tuple[int, ...]) -> Preprocessing:
        """Reshape array parameters to broadcast against ``(N, *shape)``, or fail naming the shapes."""
        params = {}
        for name in ("scale", "offset", "mean", "std"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                params[name] = _broadcastable(value, shape, name)
        return replace(self, **params) if params else self

    def describe(self) -> str:
        """One short human line, e.g. 'x * 0.00392 + 0' or '(x - mean[28x28]) / std[28x28]'."""
        def show(v: float | np.ndarray) -> str:
            return f"[{'x'.join(str(d) for d in v.shape)}]" if isinstance(v, np.ndarray) and v.size > 3 else (
                "[" + ", ".join(f"{x:.4g}" for x in np.ravel(v)) + "]" if isinstance(v, np.ndarray) else f"{v:.6g}")
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
        return self.kind == other.kind and all(_same(getattr(self, n), getattr(other, n))
                                               for n in ("scale", "offset", "mean", "std"))

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
    raise UsageError(f"preprocessing {name} has shape {value.shape}, which does not fit the model input "
                     f"{shape}", "give one number, one per channel, or one per input value")


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
            raise ModelError(f"input shape {shape} is not a classifier input edgekit handles",
                             "supported: (H, W), (H, W, C) with C = 1 or 3, or (D,) features")
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
            raise UsageError(f"inputs have shape {np.asarray(raw).shape}; this model takes samples of shape {want} "
                             "(optionally with a leading batch axis)")
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
        part = [f"input {shape}" + (" NCHW" if self.layout is Layout.CHANNELS_FIRST else "")
                + (f" ({src['input_shape']})" if "input_shape" in src else ""),
                f"{self.preprocessing.describe()}" + (f" ({src['preprocessing']})" if "preprocessing" in src else ""),
                f"outputs {self.output_kind.value}" + (f" ({src['output_kind']})" if "output_kind" in src else ""),
                f"{self.num_classes} classes" + (f" ({src['class_names']})" if "class_names" in src else "")]
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
            raise ModelError(f"contract version {version!r} is not one this edgekit reads ({CONTRACT_VERSION})",
                             "upgrade edgekit")
        try:
            shape = tuple(int(d) for d in data["input_shape"])
            names = data["class_names"]
            if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
                raise ModelError("contract class_names must be a list of names")
            low, high = data.get("input_range", PIXEL_RANGE)
            return Contract(
                input_shape=shape, class_names=tuple(str(n) for n in names),
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
            other.input_shape, other.class_names, other.output_kind, other.input_range, other.layout) and \
            self.preprocessing == other.preprocessing

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


@dataclass(frozen=True, eq=False)
class DeclaredContract:
    """What the user declared (flags or a TOML file); None means 'not declared'."""

    scale: Any = None
    offset: Any = None
    mean: Any = None
    std: Any = None
    output_kind: OutputKind | None = None
    class_names: tuple[str, ...] | None = None
    layout: Layout | None = None
    origin: str = "declared"

    @property
    def preprocessing(self) -> Preprocessing | None:
        """The declared preprocessing, or None; mixing scale/offset with mean/std is a usage error."""
        scaled = self.scale is not None or self.offset is not None
        standardized = self.mean is not None or self.std is not None
        if scaled and standardized:
            raise UsageError("declare either --scale/--offset or --mean/--std, not both")
        if scaled:
            return Preprocessing.scaling(1.0 if self.scale is None else self.scale,
                                         0.0 if self.offset is None else self.offset)
        if standardized:
            return Preprocessing.standardizing(0.0 if self.mean is None else self.mean,
                                               1.0 if self.std is None else self.std)
        return None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, n) is None for n in
                   ("scale", "offset", "mean", "std", "output_kind", "class_names", "layout"))

    def merged_over(self, other: DeclaredContract) -> DeclaredContract:
        """This declaration's values, falling back to ``other``'s (flags over a --contract file)."""
        names = ("scale", "offset", "mean", "std", "output_kind", "class_names", "layout")
        return DeclaredContract(**{n: getattr(self, n) if getattr(self, n) is not None else getattr(other, n)
                                   for n in names}, origin=self.origin)


def parse_values(text: str | float | Sequence[float] | None, name: str) -> float | np.ndarray | None:
    """A number, a comma list (one per channel) or a ``.npy`` file path -> float or array."""
    if text is None:
        return None
    if not isinstance(text, str):
        return _as_param(text, name)
    text = text.strip()
    if text.lower().endswith(".npy"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"--{name} file {path} does not exist")
        try:
            return _as_param(np.load(path, allow_pickle=False), name)
        except (ValueError, OSError) as exc:
            raise UsageError(f"--{name} file {path} is not a readable .npy array: {exc}") from None
    try:
        numbers = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--{name} must be a number, a comma list or a .npy file, got {text!r}") from None
    if not numbers:
        raise UsageError(f"--{name} is empty")
    return _as_param(numbers[0] if len(numbers) == 1 else numbers, name)


def parse_class_names(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Class names from a file (one a line) or a comma list."""
    if text is None:
        return None
    if not isinstance(text, str):
        names = [str(n).strip() for n in text]
    elif Path(text).is_file():
        try:
            names = [line.strip() for line in Path(text).read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise UsageError(f"class-names file {text} is not UTF-8 text") from None
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--class-names names no class")
    if len(set(names)) != len(names):
        raise UsageError("--class-names lists a name twice")
    return tuple(names)


def declare(*, scale: Any = None, offset: Any = None, mean: Any = None, std: Any = None,
            outputs: str | None = None, class_names: Any = None, layout: str | None = None,
            contract_file: Path | None = None) -> DeclaredContract:
    """The user's declaration from flags and an optional TOML file (flags win); validated, nothing heavy."""
    try:
        flags = DeclaredContract(
            scale=parse_values(scale, "scale"), offset=parse_values(offset, "offset"),
            mean=parse_values(mean, "mean"), std=parse_values(std, "std"),
            output_kind=OutputKind(outputs) if outputs is not None else None,
            class_names=parse_class_names(class_names),
            layout=Layout(_layout_name(layout)) if layout is not None else None,
            origin="declared by flag",
        )
    except ValueError as exc:
        raise UsageError(str(exc), "--outputs takes logits or probabilities; --layout nhwc or nchw") from None
    declared = flags if contract_file is None else flags.merged_over(_read_contract_file(Path(contract_file)))
    declared.preprocessing  # noqa: B018 - validates the combination early
    return declared


def _layout_name(text: str) -> str:
    return {"nhwc": "channels_last", "nchw": "channels_first"}.get(text.lower(), text.lower())


def _read_contract_file(path: Path) -> DeclaredContract:
    if not path.is_file():
        raise UsageError(f"contract file {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"contract file {path} is not valid TOML: {exc}") from None
    table = data.get("contract", data)
    keys = {"scale", "offset", "mean", "std", "outputs", "class_names", "layout"}
    table = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(set(table) - keys)
    if unknown:
        raise UsageError(f"unknown key(s) in {path}: {', '.join(unknown)}", f"known: {', '.join(sorted(keys))}")
    try:
        return DeclaredContract(
            scale=parse_values(table.get("scale"), "scale"), offset=parse_values(table.get("offset"), "offset"),
            mean=parse_values(table.get("mean"), "mean"), std=parse_values(table.get("std"), "std"),
            output_kind=OutputKind(table["outputs"]) if "outputs" in table else None,
            class_names=parse_class_names(table.get("class_names")),
            layout=Layout(_layout_name(str(table["layout"]))) if "layout" in table else None,
            origin=f"declared in {path.name}",
        )
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def resolve(inferred: Contract, declared: DeclaredContract, *, preprocessing_inferred: bool,
            output_kind_inferred: bool) -> Contract:
    """The inferred contract with the user's declaration applied.

    A declared value that contradicts something the model itself shows (``*_inferred``) is an error
    naming both; a declaration over a default or a run manifest's record simply wins.
    """
    sources = dict(inferred.sources)
    pre = declared.preprocessing
    if pre is not None:
        if preprocessing_inferred and pre != inferred.preprocessing:
            raise UsageError(f"declared preprocessing {pre.describe()} contradicts the model: "
                             f"{inferred.preprocessing.describe()} ({sources.get('preprocessing', 'inferred')})",
                             "drop the flag: the model normalises its input itself")
        sources["preprocessing"] = declared.origin
    kind = declared.output_kind
    if kind is not None:
        if output_kind_inferred and kind is not inferred.output_kind:
            raise UsageError(f"--outputs {kind.value} contradicts the model, whose outputs are "
                             f"{inferred.output_kind.value} ({sources.get('output_kind', 'inferred')})")
        sources["output_kind"] = declared.origin
    names = declared.class_names
    if names is not None:
        if len(names) != inferred.num_classes:
            raise UsageError(f"{len(names)} class names declared for a model with {inferred.num_classes} outputs")
        sources["class_names"] = declared.origin
    if declared.layout is not None:
        sources["layout"] = declared.origin
    return Contract(
        input_shape=inferred.input_shape, class_names=names or inferred.class_names,
        preprocessing=pre if pre is not None else inferred.preprocessing,
        output_kind=kind or inferred.output_kind, input_range=inferred.input_range,
        layout=declared.layout or inferred.layout, sources=sources,
    )


def mnist_contract(class_names: Sequence[str] | None = None, input_shape: tuple[int, ...] = (28, 28)) -> Contract:
    """The contract of every model edgekit trains: 28x28 pixels / 255, logits out."""
    return Contract(input_shape=input_shape, class_names=tuple(class_names or (str(d) for d in range(10))),
                    preprocessing=Preprocessing.scaling(1.0 / 255.0, 0.0), output_kind=OutputKind.LOGITS)


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
    return Contract(input_shape=input_shape, class_names=tuple(str(n) for n in names), preprocessing=pre,
                    output_kind=OutputKind(metadata.get("output_kind", "logits")),
                    sources={"preprocessing": "artifact metadata (pre-contract)"})
