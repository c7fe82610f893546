"""Artifact capture: every intermediate activation of a TFLite or ONNX artifact on the debug set.

TFLite: the interpreter keeps every tensor readable with ``experimental_preserve_all_tensors=True``, and
runs without delegates (XNNPACK would fuse intermediate tensors away); int8 tensors are dequantized
with their own scale and zero point; every tensor is in the Keras layout. ONNX: ``capture_onnx.py``.

Only activations are kept: op outputs that depend on the model input, in execution order, each with the
op that computed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.explain.captured import Capture, CapturedTensor
from edgekit.formats import Format
from edgekit.runtime.quantization import dequantize, to_tensor_dtype


def capture(fmt: Format, content: bytes, inputs: np.ndarray) -> Capture:
    """Run ``inputs`` (float32 model inputs) through the artifact and keep every activation."""
    if fmt is Format.ONNX:
        from edgekit.explain.capture_onnx import capture_onnx

        return capture_onnx(content, inputs)
    return _capture_tflite(content, inputs)


@dataclass(frozen=True)
class _Op:
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    kind: str  # the builtin operator's name: CONV_2D, ...


def _depends_on_input(ops: list[_Op], input_index: int) -> set[int]:
    """Tensors computed (transitively) from the input, given the ops in execution order."""
    live = {input_index}
    for op in ops:
        if live.intersection(op.inputs):
            live.update(op.outputs)
    return live


def _tflite_ops(content: bytes) -> list[_Op]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    graph = model.Subgraphs(0)
    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        inputs = tuple(int(t) for t in op.InputsAsNumpy() if t >= 0)
        outputs = tuple(int(t) for t in op.OutputsAsNumpy() if t >= 0)
        ops.append(_Op(inputs, outputs, names.get(builtin, "CUSTOM")))
    return ops


def _tflite_interpreter(content: bytes) -> Any:
    from edgekit.native_output import quiet_native_output
    from edgekit.runtime.backends import backend_class

    _, module = backend_class(Format.TFLITE)
    resolver = getattr(module, "OpResolverType", None) or module.experimental.OpResolverType
    with quiet_native_output():
        return module.Interpreter(
            model_content=content,
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )


def _capture_tflite(content: bytes, inputs: np.ndarray) -> Capture:
    interpreter = _tflite_interpreter(content)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = (len(inputs), *(int(d) for d in inp["shape"][1:]))
    interpreter.resize_tensor_input(inp["index"], list(shape), strict=False)
    interpreter.allocate_tensors()
    interpreter.set_tensor(
        inp["index"], to_tensor_dtype(inputs, np.dtype(inp["dtype"]), inp["quantization"]).reshape(shape)
    )
    interpreter.invoke()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = _tflite_ops(content)
    live = _depends_on_input(ops, inp["index"])
    order = [inp["index"]] + [t for op in ops for t in op.outputs if t in live]
    producers = {t: op for op in ops for t in op.outputs}
    tensors = []
    for position, index in enumerate(order):
        detail = details[index]
        dtype = np.dtype(detail["dtype"])
        scale, zero_point = detail["quantization"]
        if dtype.kind not in "fiu" or (dtype.kind in "iu" and not scale):
            continue  # shapes and indices, not activations
        values = dequantize(interpreter.get_tensor(index), float(scale), int(zero_point))
        quantization = (str(dtype), float(scale), int(zero_point))
        op = producers.get(index)
        kind, reads = (op.kind, tuple(details[t]["name"] for t in op.inputs if t in live)) if op else ("", ())
        moves_only = kind == "TRANSPOSE"
        name = detail["name"]
        tensors.append(
            CapturedTensor(name, name, position, values, *quantization, kind, reads=reads, moves_only=moves_only)
        )
    return Capture(tuple(tensors), inp["name"], out["name"])
