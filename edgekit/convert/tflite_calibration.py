"""TFLite full-integer int8 with activation ranges other than min/max.

TensorFlow's converter only takes min/max ranges from its calibration run. The route that lets edgekit
choose them is the one TensorFlow's QuantizationDebugger takes: calibrate only (a float model whose
tensors carry the min/max seen), replace the ranges of the intermediate activations, then quantize that
model with the MLIR quantizer (``mlir_quantize``), as ``converter.convert()`` would have. The graph's
input and output keep their min/max: clipping input pixels or output probabilities helps no one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from edgekit.convert.calibration import CalibrationMethod, histogram_ranges

BATCH = 16  # images whose activations go to the histograms at once


def calibrated_model(converter: Any) -> bytes:
    """The float model with min/max recorded on every tensor, from a converter set up for int8."""
    import warnings

    from edgekit.native_output import quiet_native_output

    converter._experimental_calibrate_only = True  # the route TensorFlow's QuantizationDebugger takes
    with quiet_native_output(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(converter.convert())


def with_ranges(calibrated: bytes, inputs: np.ndarray, method: CalibrationMethod) -> bytes:
    """``calibrated`` with each intermediate activation's min/max replaced by ``method``'s range."""
    if method is CalibrationMethod.MINMAX:
        return calibrated
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    graph = model.subgraphs[0]
    kept = {*graph.inputs, *graph.outputs}
    ranged = {i: t.name.decode() for i, t in enumerate(graph.tensors) if i not in kept and _has_range(t.quantization)}
    ranges = histogram_ranges(method, _activations(calibrated, inputs, ranged))
    for index, name in ranged.items():
        low, high = ranges[name]
        graph.tensors[index].quantization.min, graph.tensors[index].quantization.max = [low], [high]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _has_range(quantization: Any) -> bool:
    return quantization is not None and quantization.min is not None and len(quantization.min) == 1


def _activations(calibrated: bytes, inputs: np.ndarray, tensors: dict[int, str]) -> Iterator[dict[str, np.ndarray]]:
    """Every ranged tensor's float values over the calibration images, BATCH images at a time."""
    import warnings

    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    slot = interpreter.get_input_details()[0]["index"]
    for start in range(0, len(inputs), BATCH):
        values: dict[str, list[np.ndarray]] = {name: [] for name in tensors.values()}
        for image in inputs[start : start + BATCH]:
            interpreter.set_tensor(slot, image[None].astype(np.float32))
            interpreter.invoke()
            for index, name in tensors.items():
                values[name].append(interpreter.get_tensor(index).ravel())
        yield {name: np.concatenate(v) for name, v in values.items()}


def quantized(calibrated: bytes, denylisted_nodes: list[str] | None = None) -> bytes:
    """int8 in and out, per-channel weights, the ops of ``denylisted_nodes`` left in float."""
    import warnings

    from tensorflow.lite.python import convert

    from edgekit.native_output import quiet_native_output
    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    with quiet_native_output(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(
            convert.mlir_quantize(
                calibrated,
                disable_per_channel=False,
                fully_quantize=bool(denylisted_nodes),
                input_data_type=tf.int8,
                output_data_type=tf.int8,
                denylisted_nodes=denylisted_nodes or None,
            )
        )
