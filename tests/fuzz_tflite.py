"""Tiny .tflite models written with the schema builder (no TensorFlow), and seeded structural mutations of
any .tflite: tensor types, shapes, buffer/tensor/opcode indices, quantization parameters, operator options.

Most mutants are re-packed by the flatbuffers builder, so they pass the flatbuffer verifier: what is wrong is
their meaning, which is what crashes interpreters (issue 11). One in ten also has a few bytes overwritten.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

T, OP, OPT = schema.TensorType, schema.BuiltinOperator, schema.BuiltinOptions
_NP_TYPES = {T.FLOAT32: np.float32, T.INT32: np.int32, T.INT8: np.int8, T.UINT8: np.uint8, T.INT64: np.int64}


class GraphBuilder:
    """One subgraph, written with the object API: buffer 0 stays empty, as converters leave it."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [schema.BufferT()]
        self.codes: dict[int, int] = {}
        self.operators: list[Any] = []

    def _tensor(self, shape: tuple[int, ...], dtype: int, data: bytes | None, quant: Any) -> int:
        buffer = schema.BufferT()
        if data is not None:
            buffer.data = list(data)
        self.buffers.append(buffer)
        tensor = schema.TensorT()
        tensor.shape, tensor.type, tensor.buffer = list(shape), dtype, len(self.buffers) - 1
        tensor.name = f"t{len(self.tensors)}"
        if shape and shape[0] == 1 and data is None:  # activations keep a dynamic batch
            tensor.shapeSignature = [-1, *shape[1:]]
        tensor.quantization = quant
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def act(self, shape: tuple[int, ...], dtype: int = T.FLOAT32, quant: Any = None) -> int:
        return self._tensor(shape, dtype, None, quant)

    def const(self, array: np.ndarray, dtype: int = T.FLOAT32, quant: Any = None) -> int:
        return self._tensor(array.shape, dtype, np.ascontiguousarray(array, _NP_TYPES[dtype]).tobytes(), quant)

    def weights(self, shape: tuple[int, ...]) -> int:
        return self.const(self.rng.normal(0, 0.3, shape).astype(np.float32))

    def op(self, code: int, inputs: list[int], outputs: list[int], options: Any = None, kind: int = 0) -> None:
        operator = schema.OperatorT()
        operator.opcodeIndex = self.codes.setdefault(code, len(self.codes))
        operator.inputs, operator.outputs = inputs, outputs
        operator.builtinOptionsType, operator.builtinOptions = kind, options
        self.operators.append(operator)

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        graph = schema.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs, graph.operators = self.tensors, inputs, outputs, self.operators
        model = schema.ModelT()
        model.version, model.subgraphs, model.buffers, model.description = 3, [graph], self.buffers, "fuzz"
        model.operatorCodes = []
        for code in sorted(self.codes, key=self.codes.__getitem__):
            entry = schema.OperatorCodeT()
            entry.builtinCode, entry.deprecatedBuiltinCode, entry.version = code, min(code, 127), 1
            model.operatorCodes.append(entry)
        return pack(model)


def options(cls_name: str, **fields: Any) -> Any:
    obj = getattr(schema, f"{cls_name}T")()
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


def quant(scale: list[float], zero_point: list[int], dim: int = 0) -> Any:
    q = schema.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = scale, zero_point, dim
    return q


def float_model() -> bytes:
    """(N, 8, 8, 1) float -> 10 probabilities through CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, PAD,
    AVERAGE_POOL_2D, TRANSPOSE, SHAPE/STRIDED_SLICE/PACK/RESHAPE, MEAN, CONCATENATION, FULLY_CONNECTED, TANH,
    LOGISTIC, ADD, MUL, RELU and SOFTMAX: the ops of converted MNIST classifiers."""
    g = GraphBuilder(seed=1)
    x = g.act((1, 8, 8, 1))
    conv = g.act((1, 8, 8, 4))
    g.op(OP.CONV_2D, [x, g.weights((4, 3, 3, 1)), g.weights((4,))], [conv], _conv(0, 1), OPT.Conv2DOptions)
    depth = g.act((1, 6, 6, 4))
    dw = options("DepthwiseConv2DOptions", padding=1, strideW=1, strideH=1, depthMultiplier=1)
    g.op(
        OP.DEPTHWISE_CONV_2D, [conv, g.weights((1, 3, 3, 4)), g.weights((4,))], [depth], dw, OPT.DepthwiseConv2DOptions
    )
    pooled, padded, averaged, moved = g.act((1, 3, 3, 4)), g.act((1, 5, 5, 4)), g.act((1, 2, 2, 4)), g.act((1, 4, 2, 2))
    g.op(OP.MAX_POOL_2D, [depth], [pooled], _pool(2, 2), OPT.Pool2DOptions)
    pads = g.const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]]), T.INT32)
    g.op(OP.PAD, [pooled, pads], [padded], options("PadOptions"), OPT.PadOptions)
    g.op(OP.AVERAGE_POOL_2D, [padded], [averaged], _pool(2, 2), OPT.Pool2DOptions)
    g.op(OP.TRANSPOSE, [averaged, g.const(np.array([0, 3, 1, 2]), T.INT32)], [moved], options("TransposeOptions"), 26)
    flat = _dynamic_reshape(g, x, moved, 16)
    mean = g.act((1, 4))
    g.op(OP.MEAN, [depth, g.const(np.array([1, 2]), T.INT32)], [mean], options("ReducerOptions"), OPT.ReducerOptions)
    joined, logits = g.act((1, 20)), g.act((1, 10))
    g.op(OP.CONCATENATION, [flat, mean], [joined], options("ConcatenationOptions", axis=1), OPT.ConcatenationOptions)
    fc = options("FullyConnectedOptions")
    g.op(OP.FULLY_CONNECTED, [joined, g.weights((10, 20)), g.weights((10,))], [logits], fc, OPT.FullyConnectedOptions)
    tanh, sig, added, scaled, relu, out = (g.act((1, 10)) for _ in range(6))
    g.op(OP.TANH, [logits], [tanh])
    g.op(OP.LOGISTIC, [logits], [sig])
    g.op(OP.ADD, [tanh, sig], [added], options("AddOptions"), OPT.AddOptions)
    g.op(OP.MUL, [added, g.const(np.full(10, 2.0))], [scaled], options("MulOptions"), OPT.MulOptions)
    g.op(OP.RELU, [scaled], [relu])
    g.op(OP.SOFTMAX, [relu], [out], options("SoftmaxOptions", beta=1.0), OPT.SoftmaxOptions)
    return g.finish([x], [out])


def int8_model() -> bytes:
    """(N, 8, 8, 1) float -> QUANTIZE -> int8 CONV_2D (per-channel) -> MAX_POOL_2D -> RESHAPE -> int8
    FULLY_CONNECTED (per-channel) -> ADD -> LOGISTIC -> DEQUANTIZE -> 10 floats."""
    g = GraphBuilder(seed=2)
    act = quant([1 / 255], [-128])
    x, q = g.act((1, 8, 8, 1)), g.act((1, 8, 8, 1), T.INT8, act)
    g.op(OP.QUANTIZE, [x], [q], options("QuantizeOptions"), OPT.QuantizeOptions)
    w_scale = [0.01, 0.02, 0.015, 0.01]
    weights = g.const(g.rng.integers(-127, 128, (4, 3, 3, 1)), T.INT8, quant(w_scale, [0] * 4))
    bias = g.const(g.rng.integers(-500, 500, 4), T.INT32, quant([s / 255 for s in w_scale], [0] * 4))
    conv, pooled, flat = g.act((1, 8, 8, 4), T.INT8, quant([0.05], [-128])), g.act((1, 4, 4, 4), T.INT8), g.act((1, 64))
    g.op(OP.CONV_2D, [q, weights, bias], [conv], _conv(0, 1), OPT.Conv2DOptions)
    pooled_t, flat_t = g.tensors[pooled], g.tensors[flat]
    pooled_t.quantization, flat_t.quantization, flat_t.type = quant([0.05], [-128]), quant([0.05], [-128]), T.INT8
    g.op(OP.MAX_POOL_2D, [conv], [pooled], _pool(2, 2), OPT.Pool2DOptions)
    g.op(OP.RESHAPE, [pooled, g.const(np.array([-1, 64]), T.INT32)], [flat], options("ReshapeOptions"), 17)
    fc_scale = [0.004] * 10
    fc_w = g.const(g.rng.integers(-127, 128, (10, 64)), T.INT8, quant(fc_scale, [0] * 10))
    fc_b = g.const(g.rng.integers(-300, 300, 10), T.INT32, quant([s * 0.05 for s in fc_scale], [0] * 10))
    logits, doubled = g.act((1, 10), T.INT8, quant([0.1], [0])), g.act((1, 10), T.INT8, quant([0.2], [0]))
    fc = options("FullyConnectedOptions")
    g.op(OP.FULLY_CONNECTED, [flat, fc_w, fc_b], [logits], fc, OPT.FullyConnectedOptions)
    g.op(OP.ADD, [logits, logits], [doubled], options("AddOptions"), OPT.AddOptions)
    sig, out = g.act((1, 10), T.INT8, quant([1 / 256], [-128])), g.act((1, 10))
    g.op(OP.LOGISTIC, [doubled], [sig])
    g.op(OP.DEQUANTIZE, [sig], [out], options("DequantizeOptions"), OPT.DequantizeOptions)
    return g.finish([x], [out])


def _conv(padding: int, stride: int) -> Any:
    return options("Conv2DOptions", padding=padding, strideW=stride, strideH=stride, fusedActivationFunction=1)


def _pool(size: int, stride: int) -> Any:
    return options("Pool2DOptions", padding=1, strideW=stride, strideH=stride, filterWidth=size, filterHeight=size)


def _dynamic_reshape(g: GraphBuilder, source: int, value: int, width: int) -> int:
    """RESHAPE to (batch, width) with the batch read at run time, as the TFLite converter writes it."""
    shape, batch, target, flat = g.act((4,), T.INT32), g.act((), T.INT32), g.act((2,), T.INT32), g.act((1, width))
    g.op(OP.SHAPE, [source], [shape], options("ShapeOptions", outType=T.INT32), OPT.ShapeOptions)
    begin, end, stride = (g.const(np.array([v]), T.INT32) for v in (0, 1, 1))
    ss = options("StridedSliceOptions", shrinkAxisMask=1)
    g.op(OP.STRIDED_SLICE, [shape, begin, end, stride], [batch], ss, OPT.StridedSliceOptions)
    pack = options("PackOptions", valuesCount=2, axis=0)
    g.op(OP.PACK, [batch, g.const(np.array(width), T.INT32)], [target], pack, OPT.PackOptions)
    g.op(OP.RESHAPE, [value, target], [flat], options("ReshapeOptions"), OPT.ReshapeOptions)
    return flat


def pack(model: Any) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def unpack(content: bytes) -> Any:
    return schema.ModelT.InitFromObj(schema.Model.GetRootAs(content, 0))


# ----------------------------------------------------------------------------------------- mutations
_ODD_INTS = (0, 1, 2, 3, -1, -2, 7, 16, 127, 128, 255, 1 << 16, (1 << 31) - 1, -(1 << 31))
_ODD_FLOATS = (0.0, -1.0, math.nan, math.inf, -math.inf, 1e-45, 1e30, 0.5)
_TYPES = (*range(23), 60, 127)


def _pick(rng: np.random.Generator, items: Any) -> Any:
    items = list(items)
    return items[int(rng.integers(len(items)))]


def _odd_index(rng: np.random.Generator, n: int, unsigned: bool = False) -> int:
    odd = (n, n + 1, 1 << 20, 0xFFFFFFFF) if unsigned else (-1, -2, n, n + 1, 1 << 20, (1 << 31) - 1)
    return int(_pick(rng, (*odd, *range(n))))


def _tensors(m: Any) -> list[Any]:
    return m.subgraphs[0].tensors


def _ops(m: Any) -> list[Any]:
    return m.subgraphs[0].operators


def m_tensor_type(m: Any, rng: np.random.Generator) -> str:
    t = _pick(rng, _tensors(m))
    t.type = int(_pick(rng, _TYPES))
    return f"tensor {t.name!r} type -> {t.type}"


def m_tensor_shape(m: Any, rng: np.random.Generator) -> str:
    t = _pick(rng, _tensors(m))
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    how = int(rng.integers(4))
    if how == 0 and shape:
        shape[int(rng.integers(len(shape)))] = int(_pick(rng, (*_ODD_INTS, -5, 1 << 24)))
    elif how == 1:
        shape.append(int(_pick(rng, (1, 2, 3))))
    elif how == 2 and shape:
        shape.pop(int(rng.integers(len(shape))))
    else:
        shape = [int(_pick(rng, (1, 2, 9)))] * int(_pick(rng, (0, 1, 5, 7, 9)))
    field = "shapeSignature" if rng.random() < 0.25 and t.shapeSignature is not None else "shape"
    setattr(t, field, shape)
    return f"tensor {t.name!r} {field} -> {shape}"


def m_tensor_buffer(m: Any, rng: np.random.Generator) -> str:
    t = _pick(rng, _tensors(m))
    t.buffer = _odd_index(rng, len(m.buffers), unsigned=True)
    return f"tensor {t.name!r} buffer -> {t.buffer}"


def m_operator_tensor(m: Any, rng: np.random.Generator) -> str:
    op = _pick(rng, _ops(m))
    side = "inputs" if rng.random() < 0.6 else "outputs"
    ids = [int(i) for i in getattr(op, side)]
    how = int(rng.integers(4))
    if how == 0 and ids:
        ids[int(rng.integers(len(ids)))] = _odd_index(rng, len(_tensors(m)))
    elif how == 1:
        ids.append(_odd_index(rng, len(_tensors(m))))
    elif how == 2 and ids:
        ids.pop(int(rng.integers(len(ids))))
    else:
        ids = ids[::-1]
    setattr(op, side, ids)
    return f"operator {side} -> {ids}"


def m_opcode(m: Any, rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        op = _pick(rng, _ops(m))
        op.opcodeIndex = _odd_index(rng, len(m.operatorCodes), unsigned=True)
        return f"operator opcode index -> {op.opcodeIndex}"
    code = _pick(rng, m.operatorCodes)
    code.builtinCode = int(_pick(rng, (*range(0, 210, 7), 3, 9, 22, 25, 40, 49, 114, 300)))
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    return f"opcode -> builtin {code.builtinCode}"


def m_quantization(m: Any, rng: np.random.Generator) -> str:
    t = _pick(rng, _tensors(m))
    q = t.quantization or quant([0.1], [0])
    n = len(q.scale) if q.scale is not None else 0
    how = int(rng.integers(5))
    if how == 0 and n:
        q.scale = list(q.scale)
        q.scale[int(rng.integers(n))] = float(_pick(rng, _ODD_FLOATS))
    elif how == 1 and n:
        q.zeroPoint = [int(_pick(rng, (-129, 128, 256, -(1 << 31), 1 << 40, 5)))] * len(q.zeroPoint)
    elif how == 2:
        q.quantizedDimension = int(_pick(rng, (-1, 1, 2, 3, 4, 9)))
    elif how == 3:
        k = int(_pick(rng, (0, 1, 2, 3, 4, 10, 64)))
        q.scale, q.zeroPoint = [0.05] * k, [0] * int(_pick(rng, (k, k + 1, 0)))
    else:
        q = None
    t.quantization = q
    return f"tensor {t.name!r} quantization -> {None if q is None else (q.scale, q.zeroPoint, q.quantizedDimension)}"


def m_options(m: Any, rng: np.random.Generator) -> str:
    with_options = [op for op in _ops(m) if op.builtinOptions is not None]
    if not with_options or rng.random() < 0.15:
        op = _pick(rng, _ops(m))
        op.builtinOptionsType = int(_pick(rng, (0, 1, 2, 5, 8, 9, 17, 27, 32, 59)))
        op.builtinOptions = None
        return f"operator options type -> {op.builtinOptionsType}, no table"
    op = _pick(rng, with_options)
    fields = [k for k, v in vars(op.builtinOptions).items() if isinstance(v, (bool, int, float))]
    if not fields:
        return "no option field"
    name = _pick(rng, fields)
    old = getattr(op.builtinOptions, name)
    new = (not old) if isinstance(old, bool) else _pick(rng, _ODD_FLOATS if isinstance(old, float) else _ODD_INTS)
    if isinstance(old, int) and not isinstance(old, bool) and name in ("padding", "fusedActivationFunction"):
        new = int(_pick(rng, (2, 5, 6, 100, -1)))  # byte-sized enums
    setattr(op.builtinOptions, name, new)
    return f"operator option {name} -> {new}"


def m_buffer_data(m: Any, rng: np.random.Generator) -> str:
    filled = [i for i, b in enumerate(m.buffers) if b.data is not None and len(b.data)]
    if not filled:
        return "no filled buffer"
    i = _pick(rng, filled)
    data = np.asarray(m.buffers[i].data, np.uint8)
    cut = int(_pick(rng, (0, 1, len(data) // 2, len(data) - 1, len(data) + 1, len(data) * 2)))
    m.buffers[i].data = np.resize(data, cut)
    return f"buffer {i} size {len(data)} -> {cut}"


def m_graph_io(m: Any, rng: np.random.Generator) -> str:
    g = m.subgraphs[0]
    side = "inputs" if rng.random() < 0.5 else "outputs"
    ids = [int(i) for i in getattr(g, side)]
    ids = [_odd_index(rng, len(g.tensors))] if rng.random() < 0.7 else [*ids, *ids]
    setattr(g, side, ids)
    return f"subgraph {side} -> {ids}"


MUTATIONS: tuple[Callable[[Any, np.random.Generator], str], ...] = (
    m_tensor_type,
    m_tensor_shape,
    m_tensor_buffer,
    m_operator_tensor,
    m_opcode,
    m_quantization,
    m_options,
    m_buffer_data,
    m_graph_io,
)


def mutant(content: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One to three structural mutations of a .tflite model, re-packed (one in ten then has 3 bytes
    overwritten); and what was done. A draw whose value does not fit its field (a stride of 2**31 in an int8
    slot) cannot be written: draw again."""
    while True:
        model = unpack(content)
        done = [_pick(rng, MUTATIONS)(model, rng) for _ in range(int(_pick(rng, (1, 1, 1, 2, 3))))]
        try:
            content = pack(model)
        except (TypeError, OverflowError, struct.error):
            continue
        if rng.random() < 0.1:  # and now and then bytes no builder wrote: offsets that point nowhere
            damaged = bytearray(content)
            for at in rng.integers(8, len(damaged), 3):
                damaged[int(at)] = int(rng.integers(256))
            return bytes(damaged), "; ".join([*done, "3 bytes overwritten"])
        return content, "; ".join(done)
