"""Keras -> TFLite and ONNX conversion, with a JSON sidecar and a parity check for every artifact."""

from edgekit.convert.core import (
    ConversionResult, Reference, convert, convert_all, load_reference, raise_for_parity,
)
from edgekit.formats import Format, Quantization

__all__ = ["ConversionResult", "Format", "Quantization", "Reference", "convert", "convert_all", "load_reference",
           "raise_for_parity"]
