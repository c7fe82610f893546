"""What a conversion is asked to do (ConvertOptions) and what it produced (ConversionResult)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.contract import Contract
from edgekit.errors import UsageError
from edgekit.formats import Format, Quantization
from edgekit.layout import artifact_name

DEFAULT_CALIBRATION_SAMPLES = 300
CALIBRATION_METHODS = ("minmax", "percentile", "entropy")  # convert/calibration.py's CalibrationMethod
DEFAULT_PARITY_SAMPLES = 500
DEFAULT_FLOAT_FALLBACK_TRIES = 4  # layers kept in float, at most, before --allow-float-fallback gives up
# (the conversion job, format, full-integer bytes, start time) -> the kept result: what allow_float_fallback
# runs, plugged in from above (edgekit.workflows.float_fallback needs explain, which convert must not import)
Int8Review = Callable[[Any, Format, bytes, float], Any]


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert; validated before TensorFlow or the model is loaded."""

    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    parity_samples: int = DEFAULT_PARITY_SAMPLES
    measure_parity: bool = True  # run every artifact beside the reference (failing is the caller's choice)
    overwrite: bool = False
    onnx_dynamic_ops: str = "matmul"  # "matmul": MatMul/Gemm only (fast on CPU); "all": convolutions too
    out_dir: Path | None = None  # default: the run's artifacts/ folder, or artifacts/ beside the model
    max_accuracy_drop: float | None = None  # points an int8 artifact may lose (None: the band's 0.5)
    allow_float_fallback: bool = False  # int8 outside its band: keep the worst layers in float until it holds
    float_fallback_tries: int = DEFAULT_FLOAT_FALLBACK_TRIES
    calibration_method: str = "minmax"  # how int8 activation ranges are drawn: minmax, percentile, entropy
    int8_review: Int8Review | None = field(default=None, compare=False, repr=False)  # edgekit.workflows sets it

    def validate(self) -> None:
        if self.calibration_samples < 1:
            raise UsageError(f"--calibration-samples must be at least 1, got {self.calibration_samples}")
        if self.parity_samples < 1:
            raise UsageError(f"--parity-samples must be at least 1, got {self.parity_samples}")
        if self.onnx_dynamic_ops not in ("matmul", "all"):
            raise UsageError(f"--onnx-dynamic-ops must be matmul or all, got {self.onnx_dynamic_ops!r}")
        if self.max_accuracy_drop is not None and not 0 <= self.max_accuracy_drop <= 100:
            raise UsageError(f"--max-accuracy-drop must be 0 to 100 points, got {self.max_accuracy_drop}")
        if self.allow_float_fallback and not self.measure_parity:
            raise UsageError(
                "--allow-float-fallback needs the parity check: it keeps layers in float until the band holds"
            )
        if self.allow_float_fallback and self.int8_review is None:
            raise UsageError("allow_float_fallback needs its loop", "call edgekit.workflows.convert_all, which has it")
        if self.calibration_method not in CALIBRATION_METHODS:
            raise UsageError(
                f"--calibration-method must be {', '.join(CALIBRATION_METHODS)}, got {self.calibration_method!r}"
            )
        if self.float_fallback_tries < 1:
            raise UsageError(f"the float fallback needs at least 1 try, got {self.float_fallback_tries}")

    def method_for(self, mode: Quantization) -> str:
        """The calibration method an artifact of ``mode`` gets its ranges from (int16x8 takes min/max)."""
        return "minmax" if mode is Quantization.INT16X8 else self.calibration_method

    def artifact_options(self, fmt: Format, mode: Quantization) -> dict[str, Any]:
        """The options that change this artifact's bytes (recorded, and compared for reuse)."""
        if (fmt, mode) != (Format.ONNX, Quantization.DYNAMIC):
            return {}
        # the activation scheme is recorded so that per-batch artifacts from older edgekits are redone
        return {"onnx_dynamic_ops": self.onnx_dynamic_ops, "onnx_dynamic_activations": "per-row"}


@dataclass(frozen=True)
class FallbackTry:
    """One candidate of --allow-float-fallback: the layers kept in float and how it fared against the band."""

    float_layers: tuple[str, ...]
    accuracy_drop_points: float
    agreement: float
    failures: tuple[str, ...]
    calibration_method: str = "minmax"
    mode: str = "int8"  # int8 (full integer, float_layers empty), int8-mixed or int16x8
    kept: bool = False  # the try written as the artifact
    made: bool = True  # False: the converter could not make it (failures[0] says why)

    @property
    def step(self) -> str:
        """The try in words: 'int8 minmax', 'int8 percentile', 'float: conv_1, add', 'int16x8'."""
        if self.float_layers:
            return f"float: {', '.join(self.float_layers)}"
        return self.mode if self.mode == "int16x8" else f"{self.mode} {self.calibration_method}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "calibration_method": self.calibration_method,
            "float_layers": list(self.float_layers),
            "accuracy_drop_points": self.accuracy_drop_points,
            "agreement": self.agreement,
            "failures": list(self.failures),
            "kept": self.kept,
            "made": self.made,
        }


@dataclass(frozen=True)
class ConversionResult:
    """One artifact written (and checked)."""

    format: Format
    mode: Quantization
    artifact: Path
    manifest_path: Path
    size_bytes: int
    seconds: float
    parity: dict[str, Any] | None
    parity_failures: tuple[str, ...]
    contract: Contract
    float_layers: tuple[str, ...] = ()  # int8-mixed: the layers kept in float
    fallback: tuple[FallbackTry, ...] = ()  # --allow-float-fallback: every candidate tried, full integer first
    verdict: str | None = None  # an int8 outside its band: the layer that loses it and the option that may fix it

    @property
    def name(self) -> str:
        return artifact_name(self.format, self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format.value,
            "mode": self.mode.value,
            "artifact": str(self.artifact),
            "manifest": str(self.manifest_path),
            "size_bytes": self.size_bytes,
            "seconds": self.seconds,
            "parity": self.parity,
            "parity_failures": list(self.parity_failures),
            "contract": self.contract.to_dict(),
            "float_layers": list(self.float_layers),
            "fallback": [t.to_dict() for t in self.fallback],
            "verdict": self.verdict,
        }
