"""What the common TFLite builtin ops need of their tensors and options, checked before any kernel runs.

A kernel picks its code path from its first input's dtype and trusts the other tensors to match: a float
output behind an int8 input is written past its buffer; options read with a stride of 0 divide by zero; an
int8 tensor without quantization parameters feeds a zero scale to fixed-point setup code that aborts. One
rule per op covers the ops converted classifiers use (see ``RULES``): input and output counts, dtype
combinations, quantization where the kernel reads it, the shapes of filters and biases, and option values.
Ops without a rule get the graph checks of :mod:`edgekit.runtime.tflite.check` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edgekit.runtime.tflite.facts import (
    ACTIVATIONS,
    INDICES,
    NUMBERS,
    QUANTIZED,
    VALUES,
    OpView,
    TensorFacts,
    need_quantized,
    need_rank,
    need_same,
    need_types,
)
from edgekit.runtime.tflite.options import check_options, subgraph_calls


@dataclass(frozen=True)
class Rule:
    inputs: tuple[int, int]  # at least, at most (-1: any number)
    outputs: tuple[int, int]
    check: Callable[[OpView], None]
    options: str | None = None  # the options table the kernel reads
    required: bool = False  # True where the kernel's defaults for absent options are unusable (stride 0)
    optional: tuple[int, ...] = ()  # the inputs that may be -1 (absent); a kernel dereferences any other


# (input, filter, output) dtypes the conv-like kernels implement: float, hybrid, int8, uint8, int16x8
_CONV_TYPES = {
    ("FLOAT32", "FLOAT32", "FLOAT32"): frozenset({"FLOAT32"}),
    **{("FLOAT32", w, "FLOAT32"): frozenset({"FLOAT32"}) for w in ("INT8", "UINT8", "INT4")},
    ("INT8", "INT8", "INT8"): frozenset({"INT32"}),
    ("INT8", "INT4", "INT8"): frozenset({"INT32"}),
    ("INT8", "INT8", "INT16"): frozenset({"INT32"}),
    ("UINT8", "UINT8", "UINT8"): frozenset({"INT32"}),
    ("UINT8", "UINT8", "INT16"): frozenset({"INT32"}),
    ("INT16", "INT8", "INT16"): frozenset({"INT32", "INT64"}),
}
_CHANNEL_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def _conv(op: OpView) -> None:
    x, w, bias, y = op.input(0), op.input(1), op.optional(2), op.output()
    combo = (x.dtype, w.dtype, y.dtype)
    if combo not in _CONV_TYPES:
        op.fail(f"input, filter and output dtypes {', '.join(combo)} are not a combination its kernel has")
    need_types(op, bias, _CONV_TYPES[combo], "bias")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        need_quantized(op, t, what)
    if x.dtype in QUANTIZED and bias is not None and not bias.scales:
        op.fail("its bias has no quantization parameters")
    _conv_shapes(op, x, w, bias)


def _conv_shapes(op: OpView, x: TensorFacts, w: TensorFacts, bias: TensorFacts | None) -> None:
    fc, axis = op.code == "FULLY_CONNECTED", _CHANNEL_AXIS[op.code]
    need_rank(op, w, 2 if fc else 4, "filter")
    if not fc:
        need_rank(op, x, 4, "input")
    if len(w.shape) != (2 if fc else 4) or 0 in w.shape:
        op.fail(f"its filter has shape {list(w.shape)}")
    channels = w.shape[axis]
    if bias is not None and bias.shape != (channels,):
        op.fail(f"its bias has shape {list(bias.shape)} for {channels} output channels")
    for q, what, along in ((w, "filter", axis), (bias, "bias", 0)):
        if q is not None and len(q.scales) > 1 and q.quantized_dimension != along:
            op.fail(f"its {what} is quantized along dimension {q.quantized_dimension}")
    depth = x.shape[-1] if x.shape else 0
    if fc and x.shape and 0 not in x.shape and math.prod(x.shape) % w.shape[1]:
        op.fail(f"its input {list(x.shape)} does not divide into rows of {w.shape[1]}")
    if op.code == "CONV_2D" and depth and depth % w.shape[3]:
        op.fail(f"its input has {depth} channels, its filter takes {w.shape[3]}")
    if op.code == "DEPTHWISE_CONV_2D" and (w.shape[0] != 1 or (depth and channels % depth)):
        op.fail(f"its filter {list(w.shape)} does not fit an input of {depth} channels")


def _pool(op: OpView) -> None:
    need_same(op, allowed=ACTIVATIONS)
    need_rank(op, op.input(0), 4, "input")


def _softmax(op: OpView) -> None:
    x, y = op.input(0), op.output()
    need_types(op, x, ACTIVATIONS, "input")
    if y.dtype != x.dtype and (x.dtype, y.dtype) not in (("INT8", "INT16"), ("UINT8", "INT16")):
        op.fail(f"its output is {y.dtype}, its input {x.dtype}")
    need_quantized(op, x, "input")
    need_quantized(op, y, "output")


def _same_shape(op: OpView) -> None:
    """Elementwise ops keep their input's declared shape. XNNPACK reads declared shapes when it takes over a
    graph: a DEQUANTIZE whose output claims more elements than its float16 weights hold is read past their end."""
    x, y = op.input(0), op.output()
    if x.shape and y.shape and x.shape != y.shape:
        op.fail(f"its output has shape {list(y.shape)}, its input {list(x.shape)}")


def _unary(op: OpView) -> None:
    need_same(op)
    _same_shape(op)


def _binary(op: OpView) -> None:
    need_same(op, (0, 1))


def _quantize(op: OpView) -> None:
    x, y = op.input(0), op.output()
    need_types(op, x, {"FLOAT32", "FLOAT16", "INT8", "UINT8", "INT16"}, "input")
    need_types(op, y, {"INT8", "UINT8", "INT16", "INT4"}, "output")
    if not y.scales:
        op.fail("its output has no quantization parameters")
    need_quantized(op, x, "input")
    _same_shape(op)


def _dequantize(op: OpView) -> None:
    x, y = op.input(0), op.output()
    need_types(op, x, {"INT8", "UINT8", "INT16", "FLOAT16", "INT4"}, "input")
    need_types(op, y, {"FLOAT32"}, "output")
    need_quantized(op, x, "input")
    _same_shape(op)


def _with_indices(
    *positions: int, same: tuple[int, ...] = (0,), allowed: frozenset[str] = NUMBERS
) -> Callable[[OpView], None]:
    """Data inputs ``same`` share a dtype (one of ``allowed``) with the output; inputs ``positions`` are
    int32/int64 indices."""

    def check(op: OpView) -> None:
        need_same(op, same, allowed)
        for k in positions:
            need_types(op, op.optional(k), INDICES, f"input {k}")

    return check


def _transpose(op: OpView) -> None:
    _with_indices(1, allowed=VALUES)(op)
    x, perm = op.input(0), op.input(1)
    if x.shape and perm.shape not in ((len(x.shape),), ()):
        op.fail(f"its permutation {list(perm.shape)} does not fit an input of rank {len(x.shape)}")


def _concatenation(op: OpView) -> None:
    need_same(op, tuple(range(len(op.inputs))), VALUES)
    rank = len(op.output().shape)
    axis = op.option("Axis", 0)
    if rank and not -rank <= axis < rank:
        op.fail(f"axis {axis} is outside its rank-{rank} output")


def _strided_slice(op: OpView) -> None:
    _with_indices(1, 2, 3, allowed=VALUES)(op)
    begin, end, strides = (op.input(k) for k in (1, 2, 3))
    if not begin.dtype == end.dtype == strides.dtype or not begin.shape == end.shape == strides.shape:
        op.fail("its begin, end and strides differ in dtype or length")


def _shape(op: OpView) -> None:
    need_types(op, op.output(), INDICES, "output")
    wanted = op.option("OutType", None)
    if wanted is not None and {2: "INT32", 4: "INT64"}.get(wanted) != op.output().dtype:
        op.fail(f"its options ask for type {wanted}, its output is {op.output().dtype}")


def _pack(op: OpView) -> None:
    need_same(op, tuple(range(len(op.inputs))), VALUES)
    count, axis, rank = op.option("ValuesCount", 0), op.option("Axis", 0), len(op.input(0).shape)
    if count != len(op.inputs) or not -(rank + 1) <= axis <= rank:
        op.fail(f"values_count {count} and axis {axis} do not fit {len(op.inputs)} inputs of rank {rank}")


def _split(op: OpView) -> None:
    """SPLIT(axis, value): every output has the value's dtype, as many as the options say."""
    axis, value = op.input(0), op.input(1)
    need_types(op, axis, INDICES, "axis")
    need_types(op, value, VALUES, "value")
    for k in range(len(op.outputs)):
        if op.output(k).dtype != value.dtype:
            op.fail(f"output {k} is {op.output(k).dtype}, its value is {value.dtype}")
    if op.option("NumSplits", 0) != len(op.outputs):
        op.fail(f"num_splits {op.option('NumSplits', 0)} for {len(op.outputs)} outputs")


_MATMUL_TYPES = {
    ("FLOAT32", "FLOAT32", "FLOAT32"),
    ("FLOAT32", "INT8", "FLOAT32"),  # hybrid
    ("INT8", "INT8", "INT8"),
    ("INT8", "INT8", "INT32"),
    ("INT16", "INT16", "INT16"),
}


def _batch_matmul(op: OpView) -> None:
    x, y, out = op.input(0), op.input(1), op.output()
    if (x.dtype, y.dtype, out.dtype) not in _MATMUL_TYPES:
        op.fail(f"dtypes {x.dtype}, {y.dtype} -> {out.dtype} are not a combination its kernel has")
    for t, what in ((x, "input 0"), (y, "input 1"), (out, "output")):
        need_quantized(op, t, what)
        if t.shape and not 2 <= len(t.shape) <= 5:
            op.fail(f"its {what} has shape {list(t.shape)}, expected rank 2 to 5")


ANY = -1
_REDUCERS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN")
_UNARY = Rule((1, 1), (1, 1), _unary)
_BINARY = Rule((2, 2), (1, 1), _binary)
RULES: dict[str, Rule] = {
    "CONV_2D": Rule((2, 3), (1, 1), _conv, "Conv2DOptions", True, (2,)),
    "DEPTHWISE_CONV_2D": Rule((2, 3), (1, 1), _conv, "DepthwiseConv2DOptions", True, (2,)),
    "FULLY_CONNECTED": Rule((2, 3), (1, 2), _conv, "FullyConnectedOptions", optional=(2,)),
    "BATCH_MATMUL": Rule((2, 2), (1, 1), _batch_matmul, "BatchMatMulOptions"),
    "MAX_POOL_2D": Rule((1, 1), (1, 1), _pool, "Pool2DOptions", True),
    "AVERAGE_POOL_2D": Rule((1, 1), (1, 1), _pool, "Pool2DOptions", True),
    "L2_POOL_2D": Rule((1, 1), (1, 1), _pool, "Pool2DOptions", True),
    "RESHAPE": Rule((1, 2), (1, 1), _with_indices(1, allowed=VALUES), "ReshapeOptions"),
    "SQUEEZE": Rule((1, 1), (1, 1), _with_indices(allowed=VALUES), "SqueezeOptions"),
    "EXPAND_DIMS": Rule((2, 2), (1, 1), _with_indices(1, allowed=VALUES), "ExpandDimsOptions"),
    "SOFTMAX": Rule((1, 1), (1, 1), _softmax, "SoftmaxOptions"),
    "LOG_SOFTMAX": Rule((1, 1), (1, 1), need_same, "LogSoftmaxOptions"),
    "QUANTIZE": Rule((1, 1), (1, 1), _quantize, "QuantizeOptions"),
    "DEQUANTIZE": Rule((1, 1), (1, 1), _dequantize, "DequantizeOptions"),
    **dict.fromkeys(("RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "ABS", "NEG"), _UNARY),
    "LEAKY_RELU": Rule((1, 1), (1, 1), need_same, "LeakyReluOptions"),
    "ADD": Rule((2, 2), (1, 1), _binary, "AddOptions"),
    "SUB": Rule((2, 2), (1, 1), _binary, "SubOptions"),
    "MUL": Rule((2, 2), (1, 1), _binary, "MulOptions"),
    "DIV": Rule((2, 2), (1, 1), _binary, "DivOptions"),
    "MAXIMUM": _BINARY,
    "MINIMUM": _BINARY,
    **{k: Rule((2, 2), (1, 1), _with_indices(1), "ReducerOptions") for k in _REDUCERS},
    "PAD": Rule((2, 2), (1, 1), _with_indices(1), "PadOptions"),
    "PADV2": Rule((3, 3), (1, 1), _with_indices(1, same=(0, 2)), "PadV2Options"),
    "TRANSPOSE": Rule((2, 2), (1, 1), _transpose, "TransposeOptions"),
    "CONCATENATION": Rule((1, ANY), (1, 1), _concatenation, "ConcatenationOptions"),
    "STRIDED_SLICE": Rule((4, 4), (1, 1), _strided_slice, "StridedSliceOptions"),
    "SHAPE": Rule((1, 1), (1, 1), _shape, "ShapeOptions"),
    "PACK": Rule((1, ANY), (1, 1), _pack, "PackOptions", True),
    "SPLIT": Rule((2, 2), (1, ANY), _split, "SplitOptions", True),
}


def check_operator(op: OpView, n_subgraphs: int) -> set[int]:
    """Raise TFLiteProblem when an operator breaks its op's rule; return the subgraphs it calls."""
    rule = RULES.get(op.code)
    check_options(op, rule.options if rule else None, rule.required if rule else False)
    if rule is not None:
        for what, have, (lo, hi) in (("inputs", op.inputs, rule.inputs), ("outputs", op.outputs, rule.outputs)):
            if not lo <= len(have) <= (len(have) if hi == ANY else hi):
                op.fail(f"it has {len(have)} {what}, expected {lo}..{'' if hi == ANY else hi}")
        absent = [k for k, i in enumerate(op.inputs) if i < 0 and k not in rule.optional]
        if absent:
            op.fail(f"its input {absent[0]} is absent (-1), which its kernel does not allow")
        rule.check(op)
    return subgraph_calls(op, n_subgraphs)
