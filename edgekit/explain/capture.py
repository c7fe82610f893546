"""Artifact capture: every intermediate activation of a TFLite or ONNX artifact on the debug set.

TFLite: the interpreter keeps every tensor readable with ``experimental_preserve_all_tensors=True``, and
runs without delegates (XNNPACK would fuse intermediate tensors away); int8 tensors are dequantized
with their own scale and zero point. ONNX: a copy of the graph returns every float tensor computed
from the input, run with graph optimizations off (as onnxruntime's ``qdq_loss_debug`` does); a tensor
that goes through QuantizeLinear -> DequantizeLinear is read after it (what the next op sees), with the
DequantizeLinear's scale.

Only activations are kept: op outputs that depend on the model input, in execution order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.formats import Format
from edgekit.runtime.quantization import dequantize, to_tensor_dtype

FLOAT_ONNX_TYPES = (1, 10, 11)  # TensorProto FLOAT, FLOAT16, DOUBLE


@dataclass(frozen=True)
class CapturedTensor:
    """One activation of the artifact on the whole debug set."""

    name: str  # the tensor's name in the artifact (what Model Explorer shows)
    scope: str  # the name that carries the layer scopes (TFLite: the tensor name; ONNX: its node's name)
    order: int  # position in execution order
    values: np.ndarray  # float32, dequantized
    dtype: str  # as stored in the artifact: int8, float32, ...
    scale: float = 0.0  # quantization step (0: a float tensor)
    zero_point: int = 0


@dataclass(frozen=True)
class Capture:
    """Every activation of one artifact, with its input and output tensor names."""

    tensors: tuple[CapturedTensor, ...]
    input_name: str
    output_name: str


def capture(fmt: Format, content: bytes, inputs: np.ndarray) -> Capture:
    """Run ``inputs`` (float32 model inputs) through the artifact and keep every activation."""
    return _CAPTURES[fmt](content, inputs)


def _depends_on_input(ops: list[tuple[list[int], list[int]]], input_index: int) -> set[int]:
    """Tensors computed (transitively) from the input, given ops as (inputs, outputs) in execution order."""
    live = {input_index}
    for op_inputs, op_outputs in ops:
        if live.intersection(op_inputs):
            live.update(op_outputs)
    return live


def _tflite_ops(content: bytes) -> list[tuple[list[int], list[int]]]:
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(content, 0).Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        ops.append(([int(t) for t in op.InputsAsNumpy() if t >= 0], [int(t) for t in op.OutputsAsNumpy() if t >= 0]))
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
    order = [inp["index"]] + [t for _, outputs in ops for t in outputs if t in live]
    tensors = []
    for position, index in enumerate(order):
        detail = details[index]
        dtype = np.dtype(detail["dtype"])
        scale, zero_point = detail["quantization"]
        if dtype.kind not in "fiu" or (dtype.kind in "iu" and not scale):
            continue  # shapes and indices, not activations
        values = dequantize(interpreter.get_tensor(index), float(scale), int(zero_point))
        tensors.append(
            CapturedTensor(detail["name"], detail["name"], position, values, str(dtype), float(scale), int(zero_point))
        )
    return Capture(tuple(tensors), inp["name"], out["name"])


def _onnx_tensor_types(proto: Any) -> dict[str, int]:
    import onnx

    graph = onnx.shape_inference.infer_shapes(proto).graph
    return {v.name: v.type.tensor_type.elem_type for v in (*graph.value_info, *graph.input, *graph.output)}


def _capture_onnx(content: bytes, inputs: np.ndarray) -> Capture:
    import onnx
    import onnxruntime as ort
    from onnx import helper

    proto = onnx.load_from_string(content)
    graph = proto.graph
    input_name, output_name = graph.input[0].name, graph.output[0].name
    types = _onnx_tensor_types(proto)
    live: set[str] = {input_name}
    for node in graph.node:
        if live.intersection(node.input):
            live.update(node.output)
    wanted = [o for node in graph.node for o in node.output if o in live and types.get(o) in FLOAT_ONNX_TYPES]
    present = {o.name for o in graph.output}
    graph.output.extend(helper.make_tensor_value_info(n, types[n], None) for n in wanted if n not in present)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    arrays = dict(zip(wanted, session.run(wanted, {input_name: np.asarray(inputs, np.float32)}), strict=True))
    arrays[input_name] = np.asarray(inputs, np.float32)
    return Capture(_onnx_tensors(proto, [input_name, *wanted], arrays), input_name, output_name)


@dataclass(frozen=True)
class _QdqRead:
    """A DequantizeLinear output that reads a QuantizeLinear of ``source``: ``source`` after int8 rounding."""

    source: str
    scale: float
    zero_point: int
    dtype: str


def _qdq_reads(proto: Any, producers: dict[str, Any]) -> dict[str, _QdqRead]:
    from onnx import numpy_helper

    constants = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    reads = {}
    for node in proto.graph.node:
        before = producers.get(node.input[0]) if node.op_type == "DequantizeLinear" else None
        if before is None or before.op_type != "QuantizeLinear":
            continue
        scale = constants.get(node.input[1])
        zero = constants.get(node.input[2]) if len(node.input) > 2 else None
        if scale is not None and scale.size == 1:  # activations: one scale per tensor
            zero_point, dtype = (int(zero), str(zero.dtype)) if zero is not None else (0, "uint8")
            reads[node.output[0]] = _QdqRead(before.input[0], float(scale), zero_point, dtype)
    return reads


def _onnx_tensors(proto: Any, names: list[str], arrays: dict[str, np.ndarray]) -> tuple[CapturedTensor, ...]:
    """The captured tensors, a quantize -> dequantize pair read after it; the scope is the computing node's name."""
    producers = {o: node for node in proto.graph.node for o in node.output}
    reads = _qdq_reads(proto, producers)
    superseded = {read.source for read in reads.values()}
    tensors = []
    for position, name in enumerate(names):
        if name in superseded:
            continue
        read = reads.get(name)
        source = read.source if read else name
        node = producers.get(source)
        scope = node.name if node is not None and node.name else source
        values = arrays[name].astype(np.float32)
        if read is None:
            tensors.append(CapturedTensor(name, scope, position, values, str(arrays[name].dtype)))
        else:
            tensors.append(CapturedTensor(name, scope, position, values, read.dtype, read.scale, read.zero_point))
    return tuple(tensors)


_CAPTURES = {Format.TFLITE: _capture_tflite, Format.ONNX: _capture_onnx}
