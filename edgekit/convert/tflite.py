"""Keras -> TFLite: float32, float16, dynamic-range and full-integer int8 (builtins only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from edgekit.convert.calibration import CalibrationMethod, method_of
from edgekit.convert.tflite_calibration import calibrated_model, quantized, with_ranges
from edgekit.errors import ConversionError
from edgekit.formats import Quantization

FLOAT_TYPES = ("FLOAT32", "FLOAT16", "FLOAT64")


def converter_settings(mode: Quantization) -> dict[str, Any]:
    """The one mapping from a mode to TFLiteConverter settings (by name, so it is testable without TF)."""
    settings: dict[Quantization, dict[str, Any]] = {
        Quantization.NONE: {},
        Quantization.FLOAT16: {"optimizations": ["DEFAULT"], "supported_types": ["float16"]},
        Quantization.DYNAMIC: {"optimizations": ["DEFAULT"]},
        Quantization.INT8: {
            "optimizations": ["DEFAULT"],
            "supported_ops": ["TFLITE_BUILTINS_INT8"],  # builtins only: no Flex op, no float fallback
            "inference_input_type": "int8",
            "inference_output_type": "int8",
            "representative_dataset": True,
        },
        Quantization.INT16X8: {
            "optimizations": ["DEFAULT"],
            "supported_ops": ["EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"],
            "inference_input_type": "int16",
            "inference_output_type": "int16",
            "representative_dataset": True,
        },
    }
    return settings[mode]


def to_tflite(
    reference: Any, mode: Quantization, calibration_inputs: np.ndarray | None = None, options: Any = None
) -> bytes:
    """Convert the reference (Keras model or SavedModel) to .tflite bytes in ``mode``.

    int8 needs float32 calibration inputs already through the model's contract, shaped like the
    model input (N, *input_shape); the result is checked to be full-integer.
    """
    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    converter = _converter(tf, reference)
    _configure(tf, converter, mode, calibration_inputs, reference.facts.input_shape)
    method = method_of(options)
    if mode is Quantization.INT8 and method is not CalibrationMethod.MINMAX:
        assert calibration_inputs is not None  # _configure refuses int8 without them
        images = calibration_inputs
        content = _guarded(mode, lambda: quantized(with_ranges(calibrated_model(converter), images, method)))
    else:
        content = _run_converter(converter, mode)
    if mode in (Quantization.INT8, Quantization.INT16X8):
        check_full_integer(content)
    return content


def _converter(tf: Any, reference: Any) -> Any:
    if reference.kind == "saved_model":
        return tf.lite.TFLiteConverter.from_saved_model(str(reference.path), signature_keys=["serving_default"])
    return tf.lite.TFLiteConverter.from_keras_model(reference.model)


def mixed_int8(reference: Any, calibration_inputs: np.ndarray, options: Any = None) -> Any:
    """A function of Keras layer names -> int8 .tflite bytes with those layers' ops in float.

    Calibrates once (calibrate-only, then the ranges of --calibration-method), then each call quantizes again
    with the layers' op outputs as ``denylisted_nodes``; inputs and outputs stay int8 (``fully_quantize``),
    as TensorFlow's QuantizationDebugger does.
    """
    from edgekit.convert.scopes import LayerScopes, output_layer
    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    converter = _converter(tf, reference)
    _configure(tf, converter, Quantization.INT8, calibration_inputs, reference.facts.input_shape)
    method = method_of(options)
    calibrated = _guarded(
        Quantization.INT8, lambda: with_ranges(calibrated_model(converter), calibration_inputs, method)
    )
    names = [t for op in op_details(calibrated, with_names=True) for t in op["output_names"]]
    scopes = LayerScopes([layer.name for layer in reference.keras_model.layers], names)
    final = output_layer(reference.keras_model)

    def nodes_of(layer: str) -> list[str]:  # the model's output tensor is named after the graph, not its layer
        return scopes.names_of(layer, names) + (_output_names(calibrated) if layer == final else [])

    def quantize(float_layers: tuple[str, ...]) -> bytes:
        nodes = sorted({n for layer in float_layers for n in nodes_of(layer)})
        if not nodes:
            raise ConversionError(f"no TFLite op belongs to the layer(s) {', '.join(float_layers)}")
        return _guarded(Quantization.INT8_MIXED, lambda: quantized(calibrated, nodes))

    return quantize


def _configure(
    tf: Any, converter: Any, mode: Quantization, calibration_inputs: np.ndarray | None, input_shape: tuple[int, ...]
) -> None:
    settings = converter_settings(mode)
    if "optimizations" in settings:
        converter.optimizations = [getattr(tf.lite.Optimize, o) for o in settings["optimizations"]]
    if "supported_types" in settings:
        converter.target_spec.supported_types = [getattr(tf, t) for t in settings["supported_types"]]
    if "supported_ops" in settings:
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, o) for o in settings["supported_ops"]]
    if settings.get("representative_dataset"):
        if calibration_inputs is None or len(calibration_inputs) == 0:
            raise ConversionError("full-integer int8 needs calibration images")
        inputs = np.asarray(calibration_inputs, dtype=np.float32)
        if inputs.shape[1:] != tuple(input_shape):
            raise ConversionError(f"calibration inputs have shape {inputs.shape[1:]}, the model takes {input_shape}")

        def representative_dataset():
            for i in range(len(inputs)):
                yield [inputs[i : i + 1]]

        converter.representative_dataset = representative_dataset
        converter.inference_input_type = getattr(tf, settings["inference_input_type"])
        converter.inference_output_type = getattr(tf, settings["inference_output_type"])


def _run_converter(converter: Any, mode: Quantization) -> bytes:
    import warnings

    def run() -> bytes:
        with warnings.catch_warnings():
            # "Statistics for quantized inputs were expected": int8 I/O takes its ranges from calibration.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            return bytes(converter.convert())

    return _guarded(mode, run)


_OP = re.compile(r"'(tfl?\.[\w.]+)'|for op: '(\w+)'")


def _guarded(mode: Quantization, step: Callable[[], bytes]) -> bytes:
    """Run a converter step with its logs kept off the terminal; its failure is a ConversionError naming the op."""
    from edgekit.native_output import quiet_native_output

    try:
        with quiet_native_output():  # the MLIR converter logs every pass to fd 2
            return step()
    except ConversionError:
        raise
    except Exception as exc:  # the converter raises ConverterError, ValueError or RuntimeError
        text = str(exc)
        op = _OP.search(text)
        named = f" (op {op.group(1) or op.group(2)})" if op else ""
        raise ConversionError(
            f"TFLite {mode.label} conversion failed{named}: {text.strip().splitlines()[0][:300] if text else exc!r}",
            _HINTS.get(mode),
        ) from exc


_HINTS = {
    Quantization.INT8: "full-integer int8 needs an int8 kernel for every op; the message names the op that has none",
    Quantization.INT16X8: "LiteRT has no int16x8 kernel for that op: use --quantize int8 (with --allow-float-fallback)",
}


def op_details(content: bytes, with_names: bool = False) -> list[dict[str, Any]]:
    """Every operator of a .tflite with its name and the dtypes of its inputs and outputs (and their names)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = (
            names.get(builtin, f"op{builtin}")
            if builtin != schema.BuiltinOperator.CUSTOM
            else (code.CustomCode() or b"CUSTOM").decode()
        )

        def dtypes(indices: np.ndarray) -> list[str]:
            return [types[graph.Tensors(int(t)).Type()] for t in indices if t >= 0]

        ops.append({"op": name, "inputs": dtypes(op.InputsAsNumpy()), "outputs": dtypes(op.OutputsAsNumpy())})
        if with_names:
            ops[-1]["output_names"] = [graph.Tensors(int(t)).Name().decode() for t in op.OutputsAsNumpy() if t >= 0]
    return ops


def _output_names(content: bytes) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(content, 0).Subgraphs(0)
    return [graph.Tensors(int(t)).Name().decode() for t in graph.OutputsAsNumpy()]


def check_full_integer(content: bytes) -> list[str]:
    """Names of ops that compute in float (an int8 model must have none); raises if any is found."""
    float_ops = sorted(
        {op["op"] for op in op_details(content) if any(t in FLOAT_TYPES for t in op["inputs"] + op["outputs"])}
    )
    if float_ops:
        raise ConversionError(
            f"the int8 model is not full-integer: float op(s) {', '.join(float_ops)}",
            "edgekit does not ship mixed models; use --quantize dynamic, or change the layer",
        )
    return float_ops
