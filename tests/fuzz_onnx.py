"""A tiny ONNX classifier written with onnx.helper, and seeded structural mutations of any ONNX model: node
inputs and outputs, op types, attributes, initializer dims, types and data, graph input types and dims."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_model() -> bytes:
    """(N, 8, 8) float pixels -> Reshape -> Conv -> Relu -> MaxPool -> Reshape -> Gemm -> Add -> Softmax."""
    rng = np.random.default_rng(3)

    def init(name: str, array: np.ndarray) -> TensorProto:
        return numpy_helper.from_array(array, name)

    inits = [
        init("to_nchw", np.array([-1, 1, 8, 8], np.int64)),
        init("conv_w", rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32)),
        init("conv_b", rng.normal(0, 0.1, 4).astype(np.float32)),
        init("to_rows", np.array([-1, 64], np.int64)),
        init("fc_w", rng.normal(0, 0.3, (64, 10)).astype(np.float32)),
        init("fc_b", rng.normal(0, 0.1, 10).astype(np.float32)),
        init("shift", np.full(10, 0.5, np.float32)),
    ]
    nodes = [
        helper.make_node("Reshape", ["image", "to_nchw"], ["nchw"]),
        helper.make_node("Conv", ["nchw", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["pool", "to_rows"], ["rows"]),
        helper.make_node("Gemm", ["rows", "fc_w", "fc_b"], ["fc"]),
        helper.make_node("Add", ["fc", "shift"], ["shifted"]),
        helper.make_node("Softmax", ["shifted"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "fuzz",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


_ODD_INTS = (0, -1, 1, 2, 3, 7, 99, 1 << 20, (1 << 31) - 1, -(1 << 40))
_OPS = ("Reshape", "Conv", "Relu", "MaxPool", "Gemm", "MatMul", "Add", "Softmax", "Transpose", "Gather", "Concat")


def _pick(rng: np.random.Generator, items: Any) -> Any:
    items = list(items)
    return items[int(rng.integers(len(items)))]


def _names(g: Any) -> list[str]:
    return [i.name for i in g.input] + [t.name for t in g.initializer] + [o for n in g.node for o in n.output]


def m_node_input(g: Any, rng: np.random.Generator) -> str:
    node = _pick(rng, g.node)
    k = int(rng.integers(len(node.input) + 1))
    name = str(_pick(rng, [*_names(g), "", "nowhere"]))
    if k == len(node.input):
        node.input.append(name)
    else:
        node.input[k] = name
    return f"{node.op_type} input {k} -> {name!r}"


def m_node_output(g: Any, rng: np.random.Generator) -> str:
    node = _pick(rng, g.node)
    name = str(_pick(rng, _names(g)))
    node.output[0] = name
    return f"{node.op_type} output -> {name!r}"


def m_op_type(g: Any, rng: np.random.Generator) -> str:
    node = _pick(rng, g.node)
    node.op_type = str(_pick(rng, _OPS))
    return f"op type -> {node.op_type}"


def m_attribute(g: Any, rng: np.random.Generator) -> str:
    nodes = [n for n in g.node if n.attribute]
    if not nodes:
        return "no attribute"
    attr = _pick(rng, _pick(rng, nodes).attribute)
    if attr.ints:
        attr.ints[int(rng.integers(len(attr.ints)))] = int(_pick(rng, _ODD_INTS))
        return f"attribute {attr.name} -> {list(attr.ints)}"
    if attr.type == onnx.AttributeProto.INT:
        attr.i = int(_pick(rng, _ODD_INTS))
        return f"attribute {attr.name} -> {attr.i}"
    attr.f = float(_pick(rng, (math.nan, math.inf, -1.0, 0.0)))
    return f"attribute {attr.name} -> {attr.f}"


def m_initializer(g: Any, rng: np.random.Generator) -> str:
    t = _pick(rng, g.initializer)
    how = int(rng.integers(3))
    if how == 0 and t.dims:
        t.dims[int(rng.integers(len(t.dims)))] = int(_pick(rng, (0, 1, 2, 5, 64, 1 << 20)))
        return f"initializer {t.name} dims -> {list(t.dims)}"
    if how == 1:
        t.data_type = int(_pick(rng, (1, 2, 3, 6, 7, 10, 11, 16, 99)))
        return f"initializer {t.name} type -> {t.data_type}"
    raw = t.raw_data or numpy_helper.to_array(t).tobytes()
    cut = int(_pick(rng, (0, 1, len(raw) // 2, len(raw) - 1, len(raw) + 3)))
    t.ClearField("float_data")
    t.ClearField("int64_data")
    t.raw_data = (raw * 2)[:cut]
    return f"initializer {t.name} data {len(raw)} -> {cut} bytes"


def m_graph_input(g: Any, rng: np.random.Generator) -> str:
    tensor_type = g.input[0].type.tensor_type
    if rng.random() < 0.4:
        tensor_type.elem_type = int(_pick(rng, (2, 3, 6, 7, 9, 10, 11, 0, 99)))
        return f"input type -> {tensor_type.elem_type}"
    dims = tensor_type.shape.dim
    dim = dims[int(rng.integers(len(dims)))]
    dim.dim_value = int(_pick(rng, (0, 1, 3, 9, 1 << 30)))
    return f"input dims -> {[d.dim_value or d.dim_param for d in dims]}"


def m_structure(g: Any, rng: np.random.Generator) -> str:
    k = int(rng.integers(len(g.node)))
    if rng.random() < 0.5:
        node = g.node[k]
        g.node.remove(node)
        return f"node {k} removed"
    g.node.insert(int(rng.integers(len(g.node) + 1)), onnx.NodeProto.FromString(g.node[k].SerializeToString()))
    return f"node {k} duplicated"


MUTATIONS: tuple[Callable[[Any, np.random.Generator], str], ...] = (
    m_node_input,
    m_node_output,
    m_op_type,
    m_attribute,
    m_initializer,
    m_graph_input,
    m_structure,
)


def mutant(content: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One to three structural mutations of an ONNX model, serialized unchecked; and what was done."""
    model = onnx.ModelProto.FromString(content)
    done = [_pick(rng, MUTATIONS)(model.graph, rng) for _ in range(int(_pick(rng, (1, 1, 1, 2, 3))))]
    return model.SerializeToString(), "; ".join(done)
