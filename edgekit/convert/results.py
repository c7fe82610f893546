"""What a conversion is asked to do (ConvertOptions) and what it produced (ConversionResult)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.contract import Contract
from edgekit.errors import UsageError
from edgekit.formats import Format, Quantization
from edgekit.layout import artifact_name

DEFAULT_CALIBRATION_SAMPLES = 300
DEFAULT_PARITY_SAMPLES = 500


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert; validated before TensorFlow or the model is loaded."""

    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    parity_samples: int = DEFAULT_PARITY_SAMPLES
    measure_parity: bool = True  # run every artifact beside the reference (failing is the caller's choice)
    overwrite: bool = False
    onnx_dynamic_ops: str = "matmul"  # "matmul": MatMul/Gemm only (fast on CPU); "all": convolutions too
    out_dir: Path | None = None  # default: the run's artifacts/ folder, or artifacts/ beside the model

    def validate(self) -> None:
        if self.calibration_samples < 1:
            raise UsageError(f"--calibration-samples must be at least 1, got {self.calibration_samples}")
        if self.parity_samples < 1:
            raise UsageError(f"--parity-samples must be at least 1, got {self.parity_samples}")
        if self.onnx_dynamic_ops not in ("matmul", "all"):
            raise UsageError(f"--onnx-dynamic-ops must be matmul or all, got {self.onnx_dynamic_ops!r}")

    def artifact_options(self, fmt: Format, mode: Quantization) -> dict[str, Any]:
        """The options that change this artifact's bytes (recorded, and compared for reuse)."""
        if (fmt, mode) != (Format.ONNX, Quantization.DYNAMIC):
            return {}
        # the activation scheme is recorded so that per-batch artifacts from older edgekits are redone
        return {"onnx_dynamic_ops": self.onnx_dynamic_ops, "onnx_dynamic_activations": "per-row"}


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
        }
