"""Multiply-accumulates of one image, counted from an artifact's own graph (never from the Keras model).

Only the ops that multiply and accumulate are counted (the usual convention for MACs): convolutions
(grouped and depthwise too), transposed convolutions, fully connected layers and matrix products, in their
float, hybrid and integer forms. Elementwise ops, pooling and activations count zero: their cost is memory
traffic, which the per-op profile shows. The count comes from tensor shapes: a TFLite file's flatbuffer
(the schema module LiteRT ships) or an ONNX file's graph after ``onnx.shape_inference`` (the ``onnx``
package; without it ONNX MACs are not counted). A graph built for a fixed batch of N is divided by N.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.formats import Format
from edgekit.runtime.metadata import tflite_schema

Shape = tuple[int, ...]


@dataclass(frozen=True)
class MacCount:
    """Multiply-accumulates of one image, in total and per op type; ops whose shapes were unknown are named."""

    total: int
    by_op: dict[str, int]  # op type (CONV_2D, Conv) -> MACs of all its nodes
    uncounted: tuple[str, ...] = ()  # op types with a node whose shapes could not be read

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"total": self.total, "by_op": dict(self.by_op)}
        return data | ({"uncounted": list(self.uncounted)} if self.uncounted else {})

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> MacCount:
        return MacCount(
            total=int(data["total"]),
            by_op={str(k): int(v) for k, v in data["by_op"].items()},
            uncounted=tuple(str(o) for o in data.get("uncounted", ())),
        )


def count_macs(path: Path, fmt: Format) -> MacCount | None:
    """The MACs of one image through ``path`` (None: the reader it needs, LiteRT's schema or onnx, is missing)."""
    if fmt is Format.TFLITE:
        return _tflite_macs(Path(path).read_bytes())
    return _onnx_macs(Path(path))


def _prod(shape: Sequence[int]) -> int:
    return math.prod(shape) if shape else 1


# (op, input shapes, output shapes) -> MACs of every image in the batch; None: a shape it needs is unknown
Counter = Callable[[Sequence[Shape | None], Sequence[Shape | None]], int | None]


def _conv(weight: int, per_channel_in: Callable[[Shape], int]) -> Counter:
    """Output elements x the filter's reach per output element (its kernel area x input channels it reads)."""

    def count(inputs: Sequence[Shape | None], outputs: Sequence[Shape | None]) -> int | None:
        w, y = _at(inputs, weight), _at(outputs, 0)
        return None if w is None or y is None else _prod(y) * per_channel_in(w)

    return count


def _matmul(left: int, right: int, k_of: Callable[[Shape | None, Shape], int | None]) -> Counter:
    """Output elements x the inner dimension K (read from the weights where they show it: a flattened
    activation's shape is often unknown to shape inference when its Reshape target is computed)."""

    def count(inputs: Sequence[Shape | None], outputs: Sequence[Shape | None]) -> int | None:
        a, b, y = _at(inputs, left), _at(inputs, right), _at(outputs, 0)
        k = None if b is None else k_of(a, b)
        return None if k is None or y is None else _prod(y) * k

    return count


def _transposed(data: int, weight: int, reach: Callable[[Shape], int]) -> Counter:
    """Input elements x what each one is spread over (a transposed convolution scatters every input)."""

    def count(inputs: Sequence[Shape | None], outputs: Sequence[Shape | None]) -> int | None:
        x, w = _at(inputs, data), _at(inputs, weight)
        return None if x is None or w is None else _prod(x) * reach(w)

    return count


def _at(shapes: Sequence[Shape | None], k: int) -> Shape | None:
    return shapes[k] if k < len(shapes) else None


def _inner(a: Shape | None, b: Shape) -> int | None:
    """K of A [..., K] x B [..., K, N]: B's second last dimension, or A's last when B is a vector."""
    if len(b) >= 2:
        return b[-2]
    return a[-1] if a else None


# TFLite filters: CONV_2D [out, kh, kw, in/groups]; DEPTHWISE_CONV_2D [1, kh, kw, out]; FULLY_CONNECTED
# [units, in]; TRANSPOSE_CONV's inputs are (output shape, filter [out, kh, kw, in], input)
TFLITE_COUNTERS: dict[str, Counter] = {
    "CONV_2D": _conv(1, lambda w: _prod(w[1:])),
    "DEPTHWISE_CONV_2D": _conv(1, lambda w: _prod(w[1:3])),
    "FULLY_CONNECTED": _conv(1, lambda w: w[-1]),
    "BATCH_MATMUL": _matmul(0, 1, lambda a, b: a[-1] if a else None),
    "TRANSPOSE_CONV": _transposed(2, 1, lambda w: _prod(w[:3])),
}
# ONNX: Conv W [M, C/group, kH, kW] (ConvInteger the same; QLinearConv's W is input 3); MatMul's K from B
# [K, N] (QLinearMatMul's B is input 3), Gemm's from B and transB (below); ConvTranspose W [C, M/group, kH, kW]
ONNX_COUNTERS: dict[str, Counter] = {
    "Conv": _conv(1, lambda w: _prod(w[1:])),
    "ConvInteger": _conv(1, lambda w: _prod(w[1:])),
    "QLinearConv": _conv(3, lambda w: _prod(w[1:])),
    "MatMul": _matmul(0, 1, _inner),
    "MatMulInteger": _matmul(0, 1, _inner),
    "QLinearMatMul": _matmul(0, 3, _inner),
    "ConvTranspose": _transposed(0, 1, lambda w: _prod(w[1:])),
}


Node = tuple[str, Counter, Sequence[Shape | None], Sequence[Shape | None]]  # op type, counter, in and out shapes


def _tally(nodes: Sequence[Node], batch: int) -> MacCount:
    """Sum each node's count per op type, per image."""
    by_op: dict[str, int] = {}
    uncounted: set[str] = set()
    for op, counter, inputs, outputs in nodes:
        macs = counter(inputs, outputs)
        if macs is None:
            uncounted.add(op)
            continue
        by_op[op] = by_op.get(op, 0) + macs // max(batch, 1)
    return MacCount(sum(by_op.values()), dict(sorted(by_op.items(), key=lambda kv: -kv[1])), tuple(sorted(uncounted)))


def _tflite_macs(content: bytes) -> MacCount | None:
    schema = tflite_schema()
    if schema is None:
        return None
    model = schema.Model.GetRootAs(content, 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def shape(index: int) -> Shape | None:
        if index < 0:
            return None
        tensor = graph.Tensors(index)
        return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()

    nodes: list[Node] = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "")
        if name in TFLITE_COUNTERS:
            inputs = [shape(int(t)) for t in op.InputsAsNumpy()] if op.InputsLength() else []
            outputs = [shape(int(t)) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
            nodes.append((name, TFLITE_COUNTERS[name], inputs, outputs))
    first = shape(int(graph.Inputs(0))) if graph.InputsLength() else None
    return _tally(nodes, first[0] if first else 1)


def _onnx_macs(path: Path) -> MacCount | None:
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    graph = model.graph
    shapes: dict[str, Shape | None] = {i.name: tuple(i.dims) for i in graph.initializer}
    for info in (*graph.input, *graph.value_info, *graph.output):
        shapes.setdefault(info.name, _onnx_shape(info))
    nodes: list[Node] = []
    for node in graph.node:
        counter = ONNX_COUNTERS.get(node.op_type) or (_gemm(node) if node.op_type == "Gemm" else None)
        if counter is not None:
            inputs = [shapes.get(n) for n in node.input]
            nodes.append((node.op_type, counter, inputs, [shapes.get(n) for n in node.output]))
    first = shapes.get(graph.input[0].name) if graph.input else None
    return _tally(nodes, first[0] if first else 1)


def _gemm(node: Any) -> Counter:
    """Gemm's K: B [K, N], or [N, K] with transB."""
    trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
    return _matmul(0, 1, lambda a, b: b[1 if trans_b else 0] if len(b) == 2 else None)


def _onnx_shape(info: Any) -> Shape | None:
    """A value's shape; a symbolic batch (the first dimension) counts as 1, any other unknown one as unknown."""
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type" or not info.type.tensor_type.HasField("shape"):
        return None
    dims = []
    for k, d in enumerate(info.type.tensor_type.shape.dim):
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif k == 0:
            dims.append(1)
        else:
            return None
    return tuple(dims)
