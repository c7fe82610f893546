"""Keras / SavedModel -> TFLite and ONNX, with a JSON sidecar and a parity check for every artifact."""

from edgekit.convert.artifacts import (
    ConversionResult,
    ConvertOptions,
    convert,
    convert_all,
    default_artifacts_dir,
    raise_for_parity,
)
from edgekit.convert.inputs import DataSources
from edgekit.convert.reuse import artifact_is_current
from edgekit.formats import Format, Quantization

__all__ = [
    "ConversionResult",
    "ConvertOptions",
    "DataSources",
    "Format",
    "Quantization",
    "artifact_is_current",
    "convert",
    "convert_all",
    "default_artifacts_dir",
    "raise_for_parity",
]
