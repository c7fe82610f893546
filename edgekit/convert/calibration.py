"""How int8 activation ranges are drawn from the calibration images: minmax, percentile or entropy.

minmax is what both converters do by default: the range is the smallest and largest value seen, so one
outlier activation stretches every int8 step of its tensor. percentile clips the range to the 99.999th
percentile of |x| (symmetric); entropy picks the range whose int8 histogram keeps the most information
(KL divergence, TensorRT's method). Both formats use onnxruntime's implementation of the two, with the same
settings, so an onnx-int8 and a tflite-int8 calibrated by one method saw the same ranges rule.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from enum import Enum
from typing import Any

import numpy as np


class CalibrationMethod(str, Enum):
    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"


# onnxruntime's own defaults for each method (create_calibrator), written out so both formats share them
HISTOGRAM_SETTINGS: dict[CalibrationMethod, dict[str, Any]] = {
    CalibrationMethod.PERCENTILE: {
        "symmetric": True,
        "num_bins": 2048,
        "num_quantized_bins": 128,
        "percentile": 99.999,
    },
    CalibrationMethod.ENTROPY: {"symmetric": False, "num_bins": 128, "num_quantized_bins": 128, "percentile": 99.999},
}
# quantize_static passes these two on; its bin counts are create_calibrator's defaults, which the settings
# above equal (tests/test_calibration.py keeps them equal)
_ORT_KEYS = {"symmetric": "CalibTensorRangeSymmetric", "percentile": "CalibPercentile"}


def method_of(options: Any) -> CalibrationMethod:
    """The method ``options`` asks for (minmax when they say nothing: the converters' default)."""
    return CalibrationMethod(getattr(options, "calibration_method", CalibrationMethod.MINMAX))


def onnx_calibration(method: CalibrationMethod) -> tuple[Any, dict[str, Any]]:
    """onnxruntime's CalibrationMethod and quantize_static extra_options for ``method``."""
    from onnxruntime.quantization import CalibrationMethod as OrtMethod

    if method is CalibrationMethod.MINMAX:
        return OrtMethod.MinMax, {}
    settings = HISTOGRAM_SETTINGS[method]
    extra = {key: settings[name] for name, key in _ORT_KEYS.items()}
    return (OrtMethod.Percentile if method is CalibrationMethod.PERCENTILE else OrtMethod.Entropy), extra


def histogram_ranges(
    method: CalibrationMethod, batches: Iterable[dict[str, np.ndarray]]
) -> dict[str, tuple[float, float]]:
    """(low, high) per tensor name from batches of its float values, by percentile or entropy."""
    from onnxruntime.quantization.calibrate import HistogramCollector

    settings = HISTOGRAM_SETTINGS[method]
    collector = HistogramCollector(method.value, scenario="same", **settings)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per call
        for batch in batches:
            collector.collect({name: [values] for name, values in batch.items()})
        found = collector.compute_collection_result()
    return {name: (float(np.asarray(r[0]).min()), float(np.asarray(r[1]).max())) for name, r in found.items()}
