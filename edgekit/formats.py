"""One enum for quantization modes and one table for formats; dispatch reads the table.

A row names everything edgekit needs to know about a format: its suffix and file signature, the
modes it can produce, the converter that makes it (a dotted path, imported only when converting,
so the device runtime never loads TensorFlow), the runtime backends that run it in order of
preference (names from ``edgekit.runtime.backends``), and how to install one of them.

Adding a format is one row here plus its converter and its backend session class.
Imports nothing heavy: the device-side runtime reads this table too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from edgekit.errors import UnsupportedModeError


class Quantization(str, Enum):
    """How an artifact's weights and activations are stored."""

    NONE = "none"  # float32 weights and activations
    FLOAT16 = "float16"  # float16 weights, float32 compute
    DYNAMIC = "dynamic"  # int8 weights, float activations quantized on the fly
    INT8 = "int8"  # full integer: int8 weights, activations, inputs and outputs; needs calibration
    # int8 with the layers named in its sidecar kept in float: what --allow-float-fallback makes when full
    # integer misses the band. Never asked for directly (no format lists it among its modes).
    INT8_MIXED = "int8-mixed"
    # TFLite only: int8 weights, int16 activations, inputs and outputs (LiteRT's
    # EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8); needs calibration. The step after int8
    # when 8-bit activations lose the band. Not in --quantize all: asked for by name.
    INT16X8 = "int16x8"

    @property
    def label(self) -> str:
        """The name used in artifact file names and reports (float32 for NONE)."""
        return "float32" if self is Quantization.NONE else self.value

    @property
    def needs_calibration(self) -> bool:
        return self in (Quantization.INT8, Quantization.INT8_MIXED, Quantization.INT16X8)

    @property
    def in_all(self) -> bool:
        """Whether --quantize all makes it (int16x8 is opt-in: slower kernels, for when int8 misses)."""
        return self is not Quantization.INT16X8


class Format(str, Enum):
    """Artifact formats."""

    TFLITE = "tflite"
    ONNX = "onnx"


@dataclass(frozen=True)
class FormatSpec:
    """One row of the format table."""

    format: Format
    suffix: str
    modes: tuple[Quantization, ...]
    converter: str  # "module:function" (reference, mode, calibration inputs, options) -> bytes
    embedder: str  # "module:function" (artifact bytes, metadata dict) -> bytes with the metadata inside
    graph_reader: str  # "module:function" (model bytes) -> runtime.graph.GraphFacts, or None (no schema module)
    backends: tuple[str, ...]  # runtime backend names, in order of preference
    install_hint: str  # how to install its first backend on a device
    signature: Callable[[bytes], bool]  # does a file's head look like this format?
    # "module:function" (reference, calibration inputs, options) -> (float layer names -> int8 bytes with those
    # layers in float); "" when the format cannot keep layers in float
    mixed_converter: str = ""

    @property
    def produced_modes(self) -> tuple[Quantization, ...]:
        """The modes an artifact of this format can have on disk: its modes, and int8-mixed where it can."""
        return (*self.modes, Quantization.INT8_MIXED) if self.mixed_converter else self.modes

    def load_mixed_converter(self) -> Callable[..., Callable[[tuple[str, ...]], bytes]]:
        """The factory of selectively quantized int8 models (imports TensorFlow / onnxruntime)."""
        return _resolve(self.mixed_converter)

    def load_converter(self) -> Callable[..., bytes]:
        """The converter function (imports TensorFlow / tf2onnx: never call on a device)."""
        return _resolve(self.converter)

    def load_embedder(self) -> Callable[[bytes, dict[str, Any]], bytes]:
        """The function that stores edgekit's metadata inside an artifact."""
        return _resolve(self.embedder)

    def load_graph_reader(self) -> Callable[[bytes], Any]:
        """The function that reads what a model file shows about itself (numpy-free, device-safe)."""
        return _resolve(self.graph_reader)


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def _is_tflite(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == b"TFL3"


def _is_onnx(head: bytes) -> bool:
    # An ONNX ModelProto starts with field 1 (ir_version, varint: 0x08) in every exporter seen;
    # the protobuf parser is the real judge, this only catches swapped suffixes.
    return head[:1] == b"\x08"


FORMATS: dict[Format, FormatSpec] = {
    Format.TFLITE: FormatSpec(
        format=Format.TFLITE,
        suffix=".tflite",
        modes=(Quantization.NONE, Quantization.FLOAT16, Quantization.DYNAMIC, Quantization.INT8, Quantization.INT16X8),
        converter="edgekit.convert.tflite:to_tflite",
        embedder="edgekit.runtime.metadata:embed_tflite_metadata",
        graph_reader="edgekit.runtime.tflite.graph:read_tflite_graph",
        backends=("ai_edge_litert", "tflite_runtime", "tensorflow"),
        install_hint="pip install ai-edge-litert",
        signature=_is_tflite,
        mixed_converter="edgekit.convert.tflite:mixed_int8",
    ),
    Format.ONNX: FormatSpec(
        format=Format.ONNX,
        suffix=".onnx",
        modes=(Quantization.NONE, Quantization.DYNAMIC, Quantization.INT8),
        converter="edgekit.convert.onnx:to_onnx",
        embedder="edgekit.convert.onnx:embed_onnx_metadata",
        graph_reader="edgekit.runtime.onnx.graph:read_onnx_graph",
        backends=("onnxruntime",),
        install_hint="pip install onnxruntime  (the edgekit[onnx] extra; from a checkout: pip install '.[onnx]')",
        signature=_is_onnx,
        mixed_converter="edgekit.convert.onnx:mixed_int8",
    ),
}

# The CLI's --format and --quantize choices: the enums above plus "all", generated from the table.
FormatChoice = Enum("FormatChoice", {**{f.name: f.value for f in Format}, "ALL": "all"}, type=str)  # type: ignore[misc]
# Only the modes some format offers: int8-mixed is an outcome of --allow-float-fallback, not a choice.
_OFFERED = [q for q in Quantization if any(q in spec.modes for spec in FORMATS.values())]
QuantizeChoice = Enum("QuantizeChoice", {**{q.name: q.value for q in _OFFERED}, "ALL": "all"}, type=str)  # type: ignore[misc]


def check_supported(fmt: Format, mode: Quantization) -> None:
    """Raise a usage error when a format cannot produce a mode."""
    spec = FORMATS[fmt]
    if mode not in spec.modes:
        can = ", ".join(m.value for m in spec.modes)
        raise UnsupportedModeError(f"{fmt.value} cannot do --quantize {mode.value}", f"{fmt.value} supports: {can}")


def format_of_path(name: str) -> Format | None:
    """The format whose suffix a file name has, or None."""
    for spec in FORMATS.values():
        if name.lower().endswith(spec.suffix):
            return spec.format
    return None


def format_of_bytes(head: bytes) -> Format | None:
    """The format whose signature a file's first bytes carry, or None."""
    return next((spec.format for spec in FORMATS.values() if spec.signature(head)), None)


def expand(formats: list[Any], modes: list[Any]) -> list[tuple[Format, Quantization]]:
    """Turn CLI choices (with 'all') into (format, mode) pairs, in table order.

    With 'all' on either side, pairs a format cannot do are left out; naming both explicitly and
    asking for an impossible pair is a usage error, never a silent skip.
    """
    formats, modes = [_value(f) for f in formats], [_value(m) for m in modes]
    fmts = list(FORMATS) if "all" in formats else [Format(f) for f in formats]
    any_mode = "all" in modes
    wanted = [q for q in _OFFERED if q.in_all] if any_mode else [Quantization(m) for m in modes]
    pairs: list[tuple[Format, Quantization]] = []
    for fmt in fmts:
        for mode in wanted:
            if mode in FORMATS[fmt].modes:
                pairs.append((fmt, mode))
            elif not any_mode and "all" not in formats:
                check_supported(fmt, mode)
    if not pairs:
        can = "; ".join(f"{f.value} does {', '.join(m.value for m in s.modes)}" for f, s in FORMATS.items())
        raise UnsupportedModeError(f"no format in {[f.value for f in fmts]} can do {[m.value for m in wanted]}", can)
    return pairs


def _value(choice: Any) -> str:
    return str(choice.value if isinstance(choice, Enum) else choice)
