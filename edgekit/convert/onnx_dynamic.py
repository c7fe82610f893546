"""ONNX dynamic quantization in which one image's answer never depends on the other images in its batch.

onnxruntime's ``quantize_dynamic`` puts one DynamicQuantizeLinear before each MatMul: one scale and zero
point for the whole input tensor, so for the whole batch. A single image with a large activation (per-pixel
standardization turns near-constant border pixels into values in the thousands) coarsens every other image's
activations: the standardized CNN's artifact agreed with Keras on 99.9-100% of images one at a time but on
about 21% in one batch of 1,000 (82% in the parity check's batch of 200). TFLite's dynamic-range kernels
quantize each row alone; this module does the same with standard ONNX ops, so any ONNX runtime gives the
same answers.

Each MatMul (and Gemm without transA) whose second input is a constant matrix W becomes, per row r of A
(the last axis) and per column n of W::

    s_r = (max A_r - min A_r) / 255,   q_r = round((A_r - min A_r) / s_r)      uint8, so A_r ~ s_r q_r + min A_r
    t_n = max|W_n| / 127,               w_n = round(W_n / t_n)                   int8
    Y = (s * MatMulInteger(q, w) + min A * colsum(w)) * t

The row's offset stays in float and enters through the column sums: no zero point has to be rounded to an
integer (no integer kernel sees one), so the range need not hold 0, and a constant row loses nothing.
(onnxruntime's CPU MatMulInteger takes only a scalar zero point for A, so a per-row one could not be used.)
The int8 weights are stored as uint8 (w + 128, zero point 128): onnxruntime's u8 x u8 kernel is exact on
every x86-64 CPU, while its u8 x s8 kernel saturates int16 pair sums on CPUs without VNNI unless the session
sets ``session.x64quantprecision``, which another user of the file will not know to set (measured on an
AVX2 host: the dense model's agreement 99.9% with it, 98.2% without).

Each Conv with constant weights (``ops="all"``) quantizes each image symmetrically (zero point 0, so the
padding a convolution adds stays an exact zero) and each output channel's weights, through ConvInteger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

WEIGHT_QMAX = 127  # int8, symmetric
WEIGHT_OFFSET = 128  # MatMul weights stored as uint8 (see the module docstring)
ACTIVATION_LEVELS = 255  # MatMul inputs: uint8, asymmetric per row
IMAGE_QMAX = 127  # Conv inputs: int8, symmetric per image
MATMUL_OPS = ("MatMul", "Gemm")
SCHEME = {
    "activations": "uint8 min..max per row (MatMul/Gemm), int8 symmetric per image (Conv), each call",
    "weights": "int8 symmetric per output column (MatMul/Gemm, stored as uint8 + 128) or channel (Conv)",
}


@dataclass(frozen=True)
class DynamicQuantization:
    """What the rewrite did: the nodes it quantized, and each node it left in float with the reason."""

    quantized: tuple[str, ...]
    kept_float: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": SCHEME, "quantized": list(self.quantized), "kept_float": dict(self.kept_float)}


def quantize_rowwise(proto: Any, op_types: tuple[str, ...] = MATMUL_OPS) -> DynamicQuantization:
    """Rewrite ``proto`` (an onnx ModelProto, changed in place) with per-row dynamic quantization."""
    import onnx

    graph = proto.graph
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    overridable = {i.name for i in graph.input}  # an initializer that is also an input can be fed at run time
    weights = {t.name: t for t in graph.initializer if t.name not in overridable}
    quantized, kept_float, nodes, replaced = [], {}, [], set()
    for node in graph.node:
        if node.op_type not in op_types:
            nodes.append(node)
            continue
        weight, reason = _constant_weight(node, weights)
        if weight is None:
            kept_float[node.name] = reason
            nodes.append(node)
            continue
        builder = _Builder(graph, node, opset)
        nodes.extend(builder.conv(weight) if node.op_type == "Conv" else builder.matmul(weight))
        quantized.append(node.name)
        replaced.add(node.input[1])
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name in replaced and t.name not in used]:
        graph.initializer.remove(tensor)  # the float weights now stored as int8
    onnx.checker.check_model(proto)
    return DynamicQuantization(tuple(quantized), kept_float)


def _constant_weight(node: Any, weights: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """The node's constant float weight (a (K, N) matrix for MatMul/Gemm, alpha and transB applied), or why not."""
    from onnx import numpy_helper

    if len(node.input) < 2 or node.input[1] not in weights:
        return None, "its weight is not a constant"
    weight = numpy_helper.to_array(weights[node.input[1]])
    if weight.dtype != np.float32:
        return None, f"its weight is {weight.dtype}, not float32"
    if node.op_type == "Conv":
        return weight, ""
    if weight.ndim != 2:
        return None, f"its weight has {weight.ndim} dimensions, not 2"
    attrs = {a.name: a for a in node.attribute}
    if node.op_type == "Gemm":
        if "transA" in attrs and attrs["transA"].i:
            return None, "Gemm with transA"
        if "beta" in attrs and attrs["beta"].f != 1.0 and len(node.input) > 2:
            return None, "Gemm with beta != 1"
        if "transB" in attrs and attrs["transB"].i:
            weight = weight.T
        if "alpha" in attrs:
            weight = weight * np.float32(attrs["alpha"].f)
    return np.ascontiguousarray(weight, dtype=np.float32), ""


class _Builder:
    """Makes the nodes (and initializers, added to the graph) that replace one float node."""

    def __init__(self, graph: Any, node: Any, opset: int) -> None:
        self.graph, self.node, self.opset = graph, node, opset
        self.prefix = f"{node.name or node.output[0]}_rowwise"

    def name(self, step: str) -> str:
        return f"{self.prefix}/{step}"

    def constant(self, step: str, value: Any) -> str:
        from onnx import numpy_helper

        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), self.name(step)))
        return self.name(step)

    def op(self, op_type: str, inputs: list[str], step: str, **attrs: Any) -> Any:
        from onnx import helper

        return helper.make_node(op_type, inputs, [self.name(step)], name=self.name(step), **attrs)

    def reduce(self, op_type: str, x: str, axes: list[int], step: str) -> Any:
        if self.opset < 18:  # axes moved from an attribute to an input in opset 18
            return self.op(op_type, [x], step, axes=axes, keepdims=1)
        return self.op(op_type, [x, self.constant(f"{step}_axes", np.array(axes, np.int64))], step, keepdims=1)

    def matmul(self, weight: np.ndarray) -> list[Any]:
        from onnx import TensorProto

        scale_w, qweight = _quantize_weight(weight, axis=0)
        stored = (qweight.astype(np.int16) + WEIGHT_OFFSET).astype(np.uint8)
        a = self.node.input[0]
        nodes = [
            self.reduce("ReduceMax", a, [-1], "row_max"),
            self.reduce("ReduceMin", a, [-1], "row_min"),
            self.op("Sub", [self.name("row_max"), self.name("row_min")], "span"),
            self.op("Div", [self.name("span"), self.constant("levels", np.float32(ACTIVATION_LEVELS))], "raw_scale"),
            # a constant row: span 0, q = 0, and the row comes back exactly through row_min
            self.op("Max", [self.name("raw_scale"), self.constant("tiny", np.finfo(np.float32).tiny)], "scale"),
            self.op("Sub", [a, self.name("row_min")], "shifted"),
            self.op("Div", [self.name("shifted"), self.name("scale")], "scaled"),  # in [0, 255]: no clip needed
            self.op("Round", [self.name("scaled")], "rounded"),
            self.op("Cast", [self.name("rounded")], "q", to=TensorProto.UINT8),
            self.op(
                "MatMulInteger",
                [
                    self.name("q"),
                    self.constant("w", stored),
                    self.constant("q_zero", np.uint8(0)),
                    self.constant("w_zero", np.uint8(WEIGHT_OFFSET)),
                ],
                "product",
            ),
            self.op("Cast", [self.name("product")], "product_float", to=TensorProto.FLOAT),
            self.op("Mul", [self.name("product_float"), self.name("scale")], "rescaled"),
            self.op(
                "Mul", [self.name("row_min"), self.constant("colsum", qweight.astype(np.float32).sum(axis=0))], "offset"
            ),
            self.op("Add", [self.name("rescaled"), self.name("offset")], "integer_units"),
        ]
        return nodes + self.finish(self.name("integer_units"), self.constant("t", scale_w), [-1])

    def conv(self, weight: np.ndarray) -> list[Any]:
        from onnx import TensorProto

        scale_w, qweight = _quantize_weight(weight.reshape(len(weight), -1), axis=1)
        x, limit = self.node.input[0], float(IMAGE_QMAX)
        spatial = [1] * (weight.ndim - 2)
        nodes = [
            self.op("Abs", [x], "magnitude"),
            self.reduce("ReduceMax", self.name("magnitude"), list(range(1, weight.ndim)), "image_max"),
            self.op("Div", [self.name("image_max"), self.constant("levels", np.float32(limit))], "raw_scale"),
            self.op("Max", [self.name("raw_scale"), self.constant("tiny", np.finfo(np.float32).tiny)], "scale"),
            self.op("Div", [x, self.name("scale")], "scaled"),
            self.op("Round", [self.name("scaled")], "rounded"),
            self.op(
                "Clip",
                [
                    self.name("rounded"),
                    self.constant("qmin", np.float32(-limit)),
                    self.constant("qmax", np.float32(limit)),
                ],
                "clipped",
            ),
            self.op("Cast", [self.name("clipped")], "q", to=TensorProto.INT8),
            self.op(
                "ConvInteger",
                [self.name("q"), self.constant("w", qweight.reshape(weight.shape))],
                "product",
                **{a.name: _attribute_value(a) for a in self.node.attribute},
            ),
            self.op("Cast", [self.name("product")], "product_float", to=TensorProto.FLOAT),
            self.op("Mul", [self.name("scale"), self.constant("t", scale_w.reshape(1, -1, *spatial))], "output_scale"),
        ]
        return nodes + self.finish(self.name("product_float"), self.name("output_scale"), [1, -1, *spatial])

    def finish(self, product: str, scale: str, bias_shape: list[int]) -> list[Any]:
        """Y = product * scale (tensor names), plus the node's bias (Gemm's C, Conv's B) when it has one."""
        from onnx import helper

        bias = self.node.input[2] if self.node.op_type != "MatMul" and len(self.node.input) > 2 else ""
        out = self.node.output[0]
        if not bias:
            return [helper.make_node("Mul", [product, scale], [out], name=self.name("out"))]
        nodes = [self.op("Mul", [product, scale], "unbiased")]
        if self.node.op_type == "Conv":
            shape = self.constant("bias_shape", np.array(bias_shape, np.int64))
            nodes.append(self.op("Reshape", [bias, shape], "bias"))
            bias = self.name("bias")
        nodes.append(helper.make_node("Add", [self.name("unbiased"), bias], [out], name=self.name("out")))
        return nodes


def _quantize_weight(weight: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column (axis=0 reduces over K) or channel (axis=1): (scales, values)."""
    scale = np.abs(weight).max(axis=axis) / WEIGHT_QMAX
    scale[scale == 0] = 1.0
    shaped = scale[None, :] if axis == 0 else scale[:, None]
    qweight = np.clip(np.round(weight / shaped), -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8)
    return scale.astype(np.float32), qweight


def _attribute_value(attribute: Any) -> Any:
    from onnx import helper

    return helper.get_attribute_value(attribute)
