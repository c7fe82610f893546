"""ONNX capture: every float activation of an ONNX artifact, with the scope and the layout it carries.

A copy of the graph returns every float tensor computed from the input, run with graph optimizations off
(as onnxruntime's ``qdq_loss_debug`` does); a tensor that goes through QuantizeLinear -> DequantizeLinear
is read after it (what the next op sees), with the DequantizeLinear's scale.

Scope: the computing node's name, its output's name and the names of its constant inputs (weights, biases).
tf2onnx names a Conv that it merged with the BatchNormalization after it ``Conv__51``, a name without any
scope, but its weights keep theirs (``stem_conv/.../merged_input``, ``stem_bn/batchnorm/sub``); onnxruntime's
quantizer drops a Relu after a Conv and gives the Conv the Relu's output name.

Layout: tf2onnx runs convolutions channels-first, so a tensor of shape (N, 16, 16, 16) may be NHWC or NCHW.
The axes are followed from the input (the Keras layout) through every Transpose and every op that keeps its
input's layout, so each tensor says whether it is channels-first instead of its shape being guessed at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.explain.captured import Capture, CapturedTensor

FLOAT_ONNX_TYPES = (1, 10, 11)  # TensorProto FLOAT, FLOAT16, DOUBLE

# ops whose output has the layout of their (same-rank) activation input
LAYOUT_KEEPING_OPS = frozenset(
    "Abs Add AveragePool BatchNormalization Cast Clip Concat Conv ConvInteger DequantizeLinear Div Elu Erf Exp "
    "GlobalAveragePool GlobalMaxPool HardSigmoid HardSwish Identity InstanceNormalization LeakyRelu Log MaxPool "
    "Max Min Mish Mul Neg Pad PRelu QLinearConv QuantizeLinear ReduceMax ReduceMean Relu Resize Selu Sigmoid "
    "Softplus Sqrt Sub Swish Tanh Upsample Where".split()
)


def capture_onnx(content: bytes, inputs: np.ndarray) -> Capture:
    """Run ``inputs`` (float32, the Keras layout) through the ONNX artifact and keep every float activation."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    proto = onnx.load_from_string(content)
    graph = proto.graph
    input_name, output_name = graph.input[0].name, graph.output[0].name
    types = _tensor_types(proto)
    live = _live(graph, input_name)
    wanted = [o for node in graph.node for o in node.output if o in live and types.get(o) in FLOAT_ONNX_TYPES]
    present = {o.name for o in graph.output}
    graph.output.extend(helper.make_tensor_value_info(n, types[n], None) for n in wanted if n not in present)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    arrays = dict(zip(wanted, session.run(wanted, {input_name: np.asarray(inputs, np.float32)}), strict=True))
    arrays[input_name] = np.asarray(inputs, np.float32)
    tensors = _tensors(proto, [input_name, *wanted], arrays, live)
    # a quantized graph reads its input through QuantizeLinear -> DequantizeLinear: that read stands for it
    read_input = next((t.name for t in tensors if t.scope == input_name), input_name)
    return Capture(tensors, read_input, output_name)


def _tensor_types(proto: Any) -> dict[str, int]:
    import onnx

    graph = onnx.shape_inference.infer_shapes(proto).graph
    return {v.name: v.type.tensor_type.elem_type for v in (*graph.value_info, *graph.input, *graph.output)}


def _live(graph: Any, input_name: str) -> set[str]:
    """Tensors computed (transitively) from the input."""
    live = {input_name}
    for node in graph.node:
        if live.intersection(node.input):
            live.update(node.output)
    return live


def moved_axes(node: Any, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...] | None:
    """The permutation a node applies when it only moves values (a Transpose, or a Reshape that moves size-1
    axes: tf2onnx's NHWC -> NCHW of a 1x1 map); None for any other node."""
    if node.op_type == "Transpose":
        order = next((tuple(int(i) for i in a.ints) for a in node.attribute if a.name == "perm"), None)
        return order or None
    before, after = shapes.get(node.input[0]) if node.input else None, shapes.get(node.output[0])
    if node.op_type != "Reshape" or before is None or after is None or len(before) != len(after):
        return None
    big_before, big_after = [i for i, d in enumerate(before) if d != 1], [i for i, d in enumerate(after) if d != 1]
    if [before[i] for i in big_before] != [after[i] for i in big_after]:
        return None
    ones, big = iter(i for i, d in enumerate(before) if d == 1), iter(big_before)
    return tuple(next(ones) if size == 1 else next(big) for size in after)


def tensor_axes(graph: Any, input_name: str, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """For each tensor whose layout is known: which input axis each of its axes is (input: 0, 1, ..., r-1).

    ``shapes`` gives the shape of the tensors that were computed; any other output keeps its input's rank.
    """
    axes = {input_name: tuple(range(len(shapes[input_name])))}
    for node in graph.node:
        known = [axes[i] for i in node.input if i in axes]
        if not known:
            continue
        perm = moved_axes(node, shapes)
        if perm is not None:
            if len(perm) == len(known[0]):
                axes[node.output[0]] = tuple(known[0][p] for p in perm)
            continue
        if node.op_type not in LAYOUT_KEEPING_OPS:
            continue
        for output in node.output:
            rank = len(shapes[output]) if output in shapes else len(known[0])
            same_rank = next((a for a in known if len(a) == rank), None)
            if same_rank is not None:
                axes[output] = same_rank
    return axes


def channels_first(axes: tuple[int, ...] | None) -> bool | None:
    """True for an NCHW-ordered tensor of an NHWC input, False for the input's own order, None otherwise."""
    if axes is None:
        return None
    rank = len(axes)
    if axes == tuple(range(rank)):
        return False
    if rank >= 3 and axes == (0, rank - 1, *range(1, rank - 1)):
        return True
    return None


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


def _scope(node: Any, source: str, live: set[str], uses: dict[str, int]) -> str:
    """The names that carry the layer scopes of ``source``: its node's, its own and its own constant inputs'.

    A constant that other nodes read too (a shared scalar such as hard-swish's 3 and 6) names no layer of
    this node's.
    """
    if node is None:
        return source
    constants = [i for i in node.input if i and i not in live and uses.get(i) == 1]
    return ";".join(n for n in (node.name, source, *constants) if n)


def _tensors(proto: Any, names: list[str], arrays: dict[str, np.ndarray], live: set[str]) -> tuple[CapturedTensor, ...]:
    """The captured tensors, a quantize -> dequantize pair read after it (see the module docstring)."""
    producers = {o: node for node in proto.graph.node for o in node.output}
    reads = _qdq_reads(proto, producers)
    superseded = {read.source for read in reads.values()}
    shapes = {n: tuple(a.shape) for n, a in arrays.items()}
    layouts = tensor_axes(proto.graph, names[0], shapes)
    uses = Counter(i for node in proto.graph.node for i in node.input)
    tensors = []
    for position, name in enumerate(names):
        if name in superseded:
            continue
        read = reads.get(name)
        source = read.source if read else name
        node = producers.get(source)
        values = arrays[name].astype(np.float32)
        quantized = (read.dtype, read.scale, read.zero_point) if read else (str(arrays[name].dtype), 0.0, 0)
        tensors.append(
            CapturedTensor(
                name,
                _scope(node, source, live, uses),
                position,
                values,
                *quantized,
                op=node.op_type if node is not None else "",
                moves_only=node is not None and moved_axes(node, shapes) is not None,
                channels_first=channels_first(layouts.get(source)),
                reads=tuple(i for i in node.input if i in live) if node is not None else (),
            )
        )
    return tuple(tensors)
