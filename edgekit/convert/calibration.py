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
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any

import numpy as np


class CalibrationMethod(str, Enum):
    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"


# Both formats' histogram settings. percentile: onnxruntime's own defaults (create_calibrator). entropy: 2048 bins
# for 128 quantized bins, TensorRT's numbers; onnxruntime's default of 128 bins leaves its KL search one candidate,
# the whole histogram, whenever the first batch already spans the range (it only grows bins for values outside
# it): that is min/max. Measured on the EfficientNet-style 96x96 model: all 78 activation scales of onnx-int8
# identical to minmax's with 128 bins.
HISTOGRAM_SETTINGS: dict[CalibrationMethod, dict[str, Any]] = {
    CalibrationMethod.PERCENTILE: {
        "symmetric": True,
        "num_bins": 2048,
        "num_quantized_bins": 128,
        "percentile": 99.999,
    },
    CalibrationMethod.ENTROPY: {"symmetric": False, "num_bins": 2048, "num_quantized_bins": 128, "percentile": 99.999},
}
# quantize_static passes these two on to its calibrator, but not the bin counts (see histogram_bins)
_ORT_KEYS = {"symmetric": "CalibTensorRangeSymmetric", "percentile": "CalibPercentile"}
_BINS = ("num_bins", "num_quantized_bins")


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


@contextlib.contextmanager
def histogram_bins(method: CalibrationMethod) -> Iterator[None]:
    """While quantize_static runs: its calibrator gets ``method``'s bin counts, which quantize_static has no
    option for (it forwards symmetric, percentile and the moving average only). Conversion is one thread."""
    if method is CalibrationMethod.MINMAX:
        yield
        return
    import importlib

    ort_quantize: Any = importlib.import_module("onnxruntime.quantization.quantize")  # the module, not its function

    original = ort_quantize.create_calibrator
    bins = {key: HISTOGRAM_SETTINGS[method][key] for key in _BINS}

    def create_calibrator(*args: Any, extra_options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return original(*args, extra_options={**(extra_options or {}), **bins}, **kwargs)

    ort_quantize.create_calibrator = create_calibrator
    try:
        yield
    finally:
        ort_quantize.create_calibrator = original


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
