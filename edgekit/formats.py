"""One enum for quantization modes and one table for formats, shared by convert, runtime and benchmarks.

Imports nothing heavy: the device-side runtime reads this table too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edgekit.errors import UnsupportedModeError


class Quantization(str, Enum):
    """How an artifact's weights and activations are stored."""

    NONE = "none"  # float32 weights and activations
    FLOAT16 = "float16"  # float16 weights, float32 compute
    DYNAMIC = "dynamic"  # int8 weights, float activations quantized on the fly
    INT8 = "int8"  # full integer: int8 weights, activations, inputs and outputs; needs calibration

    @property
    def label(self) -> str:
        """The name used in artifact file names and reports (float32 for NONE)."""
        return "float32" if self is Quantization.NONE else self.value

    @property
    def needs_calibration(self) -> bool:
        return self is Quantization.INT8


class Format(str, Enum):
    """Artifact formats."""

    TFLITE = "tflite"
    ONNX = "onnx"


@dataclass(frozen=True)
class FormatSpec:
    """One row of the format table."""

    format: Format
    suffix: str
    runtime: str  # the interpreter family that runs it
    modes: tuple[Quantization, ...]
    pip_hint: str  # how to install its runtime on a device


FORMATS: dict[Format, FormatSpec] = {
    Format.TFLITE: FormatSpec(
        Format.TFLITE, ".tflite", "litert",
        (Quantization.NONE, Quantization.FLOAT16, Quantization.DYNAMIC, Quantization.INT8),
        "pip install ai-edge-litert",
    ),
    Format.ONNX: FormatSpec(
        Format.ONNX, ".onnx", "onnxruntime",
        (Quantization.NONE, Quantization.DYNAMIC, Quantization.INT8),
        "pip install onnxruntime  (or: pip install 'edgekit[onnx]')",
    ),
}


@dataclass(frozen=True)
class ParityBand:
    """What an artifact must achieve against the Keras model on held-out images."""

    min_agreement: float  # top-1 agreement, fraction
    max_logit_diff: float | None = None  # float paths only
    max_accuracy_drop: float | None = None  # points (percentage points)


PARITY_BANDS: dict[Quantization, ParityBand] = {
    Quantization.NONE: ParityBand(min_agreement=1.0, max_logit_diff=1e-4),
    Quantization.FLOAT16: ParityBand(min_agreement=0.995),
    Quantization.DYNAMIC: ParityBand(min_agreement=0.995),
    Quantization.INT8: ParityBand(min_agreement=0.99, max_accuracy_drop=0.5),
}


def artifact_stem(fmt: Format, mode: Quantization) -> str:
    """File stem shared by an artifact and its JSON sidecar, e.g. 'tflite-int8'."""
    return f"{fmt.value}-{mode.label}"


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


def expand(formats: list[str], modes: list[str]) -> list[tuple[Format, Quantization]]:
    """Turn CLI choices (with 'all') into (format, mode) pairs, in table order.

    With 'all' on either side, pairs a format cannot do are left out; naming both explicitly and
    asking for an impossible pair is a usage error, never a silent skip.
    """
    fmts = list(FORMATS) if "all" in formats else [Format(f) for f in formats]
    any_mode = "all" in modes
    wanted = list(Quantization) if any_mode else [Quantization(m) for m in modes]
    pairs: list[tuple[Format, Quantization]] = []
    for fmt in fmts:
        for mode in wanted:
            if mode in FORMATS[fmt].modes:
                pairs.append((fmt, mode))
            elif not any_mode and "all" not in formats:
                check_supported(fmt, mode)
    if not pairs:
        # e.g. --format onnx --quantize float16 named through 'all' formats: still nothing to do
        raise UnsupportedModeError(
            f"no format in {[f.value for f in fmts]} can do {[m.value for m in wanted]}",
            "tflite does none, float16, dynamic, int8; onnx does none, dynamic, int8",
        )
    return pairs
