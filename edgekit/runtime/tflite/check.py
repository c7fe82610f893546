"""A structural check of a .tflite flatbuffer, in pure Python, before any interpreter sees the bytes.

LiteRT's flatbuffer verifier checks layout, not meaning: a file whose tensor type, index or operator output is
wrong passes it and then corrupts the heap in ``allocate_tensors`` or ``invoke`` (issue 11). This reads the
model with the reader API of ``ai_edge_litert.schema_py_generated`` and checks, in one pass:

- every vector length fits in the file (a forged length cannot make the check itself run for hours);
- operator codes are known builtins (or named custom ops); every subgraph, tensor, buffer, opcode and
  signature index is in range; control flow (WHILE, IF, CALL_ONCE) calls no subgraph in a cycle;
- tensors: known types; shapes non-negative, rank <= 8, at most 2**31 - 1 elements and 4 GiB; a shape
  signature agrees with the shape; a constant's buffer holds exactly shape x dtype bytes;
- quantization: scales finite and in [1e-30, 1e9], as many zero points as scales, zero points in the dtype's
  range, a per-axis quantized dimension inside the shape with one scale per slice;
- the graph: subgraph inputs are distinct and not constants; each operator reads only constants, inputs,
  variables or what an earlier operator wrote; no operator writes a constant, an input or a tensor twice;
- the common builtin ops (see :mod:`edgekit.runtime.tflite.ops`): input/output counts, dtypes, options.

What it cannot see (values computed at run time, kernel-specific limits) is what the child-process probe
(:mod:`edgekit.runtime.safety.probe`) is for. The first problem found is raised as :class:`TFLiteProblem`.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from edgekit.runtime.tflite.facts import (
    BYTES_PER_ELEMENT,
    CUSTOM,
    INTEGER_RANGES,
    OpView,
    TensorFacts,
    TFLiteProblem,
)
from edgekit.runtime.tflite.ops import check_operator

__all__ = ["TFLiteProblem", "check_tflite"]

MAX_RANK, MAX_ELEMENTS, MAX_TENSOR_BYTES = 8, (1 << 31) - 1, 1 << 32
MIN_SCALE, MAX_SCALE = 1e-30, 1e9
# what the flatbuffers reader raises on offsets that point nowhere (TypeError: "bad number -1985 for type uint32")
_MALFORMED = (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeDecodeError)


def check_tflite(content: bytes, schema: Any) -> None:
    """Raise TFLiteProblem naming the first structural problem of a .tflite model; return if there is none."""
    try:
        model = schema.Model.GetRootAs(content, 0)
        _check_model(_Reader(content, schema), model)
    except _MALFORMED as exc:
        raise TFLiteProblem(f"the flatbuffer is malformed ({type(exc).__name__})") from None


class _Reader:
    """The file's bytes and schema, with the length checks every vector read goes through."""

    def __init__(self, content: bytes, schema: Any) -> None:
        self.content, self.schema, self.size = content, schema, len(content)
        self.ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
        options = vars(schema.BuiltinOptions).items()
        self.option_tables = {v: getattr(schema, k) for k, v in options if not k.startswith("_") and v}

    def count(self, n: int, what: str, element_bytes: int = 4) -> int:
        if n < 0 or n * element_bytes > self.size:
            raise TFLiteProblem(f"{what}: a vector of {n} entries does not fit in a {self.size}-byte file")
        return n

    @staticmethod
    def numbers(vector: Any) -> np.ndarray:
        """A numeric vector as numpy (the reader returns 0 for an absent vector)."""
        return np.zeros(0, np.int64) if isinstance(vector, int) else vector


def _check_model(r: _Reader, model: Any) -> None:
    n_buffers = r.count(model.BuffersLength(), "buffers")
    buffer_sizes = [_buffer_size(r, model.Buffers(i), i) for i in range(n_buffers)]
    codes = [_op_name(r, model.OperatorCodes(i), i) for i in range(r.count(model.OperatorCodesLength(), "opcodes"))]
    n_subgraphs = r.count(model.SubgraphsLength(), "subgraphs")
    if n_subgraphs == 0:
        raise TFLiteProblem("it has no subgraph")
    calls: dict[int, set[int]] = {}
    tensor_counts = []
    for s in range(n_subgraphs):
        graph = model.Subgraphs(s)
        where = f"subgraph {s}" if n_subgraphs > 1 else "the graph"
        tensors = [_tensor(r, graph.Tensors(i), buffer_sizes, f"{where}, tensor {i}") for i in range(_n(r, graph))]
        calls[s] = _check_graph(r, graph, tensors, codes, (where, n_subgraphs))
        tensor_counts.append(len(tensors))
    first = model.Subgraphs(0)
    if first.InputsLength() == 0 or first.OutputsLength() == 0:
        raise TFLiteProblem("the main subgraph has no inputs or no outputs")
    _check_calls(calls)
    _check_signatures(r, model, tensor_counts)
    for i in range(r.count(model.MetadataLength(), "metadata")):
        if model.Metadata(i).Buffer() >= n_buffers:
            raise TFLiteProblem(f"metadata entry {i} names buffer {model.Metadata(i).Buffer()} of {n_buffers}")


def _n(r: _Reader, graph: Any) -> int:
    return r.count(graph.TensorsLength(), "tensors")


def _buffer_size(r: _Reader, buffer: Any, index: int) -> int:
    offset, size = buffer.Offset(), buffer.Size()
    if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
        if offset + size > r.size:
            raise TFLiteProblem(f"buffer {index} points past the end of the file")
        return int(size)
    return r.count(buffer.DataLength(), f"buffer {index}", 1)


def _op_name(r: _Reader, code: Any, index: int) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # schema 3a: the larger field is the code
    if builtin == CUSTOM:
        if not code.CustomCode():
            raise TFLiteProblem(f"opcode {index} is a custom op without a name")
        return f"custom op {code.CustomCode().decode('utf-8', 'replace')!r}"
    if builtin not in r.ops:
        raise TFLiteProblem(f"opcode {index} is builtin operator {builtin}, which this LiteRT does not know")
    return str(r.ops[builtin])


def _tensor(r: _Reader, t: Any, buffer_sizes: list[int], where: str) -> TensorFacts:
    dtype = t.Type()
    if dtype not in r.types:
        raise TFLiteProblem(f"{where}: type {dtype} is not a TFLite tensor type")
    shape = tuple(int(d) for d in r.numbers(t.ShapeAsNumpy()))
    signature = None if t.ShapeSignatureIsNone() else tuple(int(d) for d in r.numbers(t.ShapeSignatureAsNumpy()))
    _check_shape(shape, signature, where)
    elements = math.prod(shape)
    per_element = BYTES_PER_ELEMENT.get(r.types[dtype])
    if per_element is not None and elements * per_element > MAX_TENSOR_BYTES:
        raise TFLiteProblem(f"{where}: shape {list(shape)} needs more than 4 GiB")
    if t.Buffer() >= len(buffer_sizes):
        raise TFLiteProblem(f"{where}: buffer {t.Buffer()} is out of range ({len(buffer_sizes)} buffers)")
    if t.ExternalBuffer():
        raise TFLiteProblem(f"{where}: external buffers are not supported")
    stored, sparse = buffer_sizes[t.Buffer()], t.Sparsity() is not None
    if stored and per_element is not None and not sparse and not _fits(stored, elements, per_element):
        raise TFLiteProblem(
            f"{where}: its buffer holds {stored} bytes, its shape {list(shape)} x {r.types[dtype]} needs "
            f"{math.ceil(elements * per_element)}"
        )
    scales, zero_points, dim = _quantization(r, t.Quantization(), dtype, shape, where)
    return TensorFacts(r.types[dtype], shape, stored > 0, scales, zero_points, dim, bool(t.IsVariable()))


def _check_shape(shape: tuple[int, ...], signature: tuple[int, ...] | None, where: str) -> None:
    if len(shape) > MAX_RANK or any(d < 0 for d in shape):
        raise TFLiteProblem(f"{where}: shape {list(shape)} is not a tensor shape (rank <= {MAX_RANK}, dims >= 0)")
    if math.prod(shape) > MAX_ELEMENTS:
        raise TFLiteProblem(f"{where}: shape {list(shape)} has more than 2**31 - 1 elements")
    if signature is not None and (
        len(signature) != len(shape) or any(s != d and s != -1 for s, d in zip(signature, shape, strict=False))
    ):
        raise TFLiteProblem(f"{where}: shape signature {list(signature)} does not match shape {list(shape)}")


def _fits(stored: int, elements: int, per_element: float) -> bool:
    if per_element < 1:  # INT4, UINT4, INT2: packed, or one value per byte as older writers stored them
        return stored in (math.ceil(elements * per_element), elements)
    return stored == elements * per_element


def _quantization(
    r: _Reader, q: Any, dtype: int, shape: tuple[int, ...], where: str
) -> tuple[tuple[float, ...], tuple[int, ...], int]:
    if q is None:
        return (), (), 0
    scales = r.numbers(q.ScaleAsNumpy())
    zero_points = r.numbers(q.ZeroPointAsNumpy())
    dim = q.QuantizedDimension()
    if q.DetailsType() not in (0, 1):
        raise TFLiteProblem(f"{where}: quantization details of kind {q.DetailsType()} are not supported")
    if len(scales) == 0 and len(zero_points) == 0:
        return (), (), 0
    if len(scales) != len(zero_points):
        raise TFLiteProblem(f"{where}: {len(scales)} quantization scales but {len(zero_points)} zero points")
    if not np.all(np.isfinite(scales)) or np.any(scales < MIN_SCALE) or np.any(scales > MAX_SCALE):
        raise TFLiteProblem(f"{where}: quantization scale {_first_bad(scales):.6g} is not finite and in [1e-30, 1e9]")
    low, high = INTEGER_RANGES.get(r.types[dtype], INTEGER_RANGES["INT32"])
    if np.any(zero_points < low) or np.any(zero_points > high):
        raise TFLiteProblem(f"{where}: a zero point is outside {r.types[dtype]}'s range [{low}, {high}]")
    if dim < 0 or (shape and dim >= len(shape)):
        raise TFLiteProblem(f"{where}: quantized dimension {dim} is outside its shape {list(shape)}")
    if len(scales) > 1 and (not shape or shape[dim] != len(scales)):
        raise TFLiteProblem(f"{where}: {len(scales)} per-axis scales for dimension {dim} of shape {list(shape)}")
    return tuple(float(s) for s in scales), tuple(int(z) for z in zero_points), int(dim)


def _first_bad(scales: np.ndarray) -> float:
    bad = ~np.isfinite(scales) | (scales < MIN_SCALE) | (scales > MAX_SCALE)
    return float(scales[np.flatnonzero(bad)[0]])


def _check_graph(
    r: _Reader, graph: Any, tensors: list[TensorFacts], codes: list[str], ctx: tuple[str, int]
) -> set[int]:
    """Indices, topology and per-op rules of one subgraph; returns the subgraphs its operators call."""
    where, n_subgraphs = ctx
    inputs = _indices(r, graph.InputsAsNumpy(), len(tensors), f"{where} inputs")
    outputs = _indices(r, graph.OutputsAsNumpy(), len(tensors), f"{where} outputs")
    if len(set(inputs)) != len(inputs) or any(tensors[i].constant for i in inputs):
        raise TFLiteProblem(f"{where}: its inputs {list(inputs)} repeat a tensor or name a constant")
    written = set(inputs)
    ready = written | {i for i, t in enumerate(tensors) if t.constant or t.variable or math.prod(t.shape) == 0}
    calls: set[int] = set()
    for k in range(r.count(graph.OperatorsLength(), f"{where} operators")):
        op = graph.Operators(k)
        if op.OpcodeIndex() >= len(codes):
            raise TFLiteProblem(f"{where}, operator {k}: opcode {op.OpcodeIndex()} is out of range ({len(codes)})")
        name = f"{where}, operator {k} ({codes[op.OpcodeIndex()]})"
        ins = _indices(r, op.InputsAsNumpy(), len(tensors), f"{name} inputs", optional=True)
        outs = _indices(r, op.OutputsAsNumpy(), len(tensors), f"{name} outputs")
        _indices(r, op.IntermediatesAsNumpy(), len(tensors), f"{name} intermediates")
        for i in ins:
            if i >= 0 and i not in ready:
                raise TFLiteProblem(f"{name}: reads tensor {i}, which no earlier operator writes")
        for o in outs:
            if o in written or tensors[o].constant:
                raise TFLiteProblem(f"{name}: writes tensor {o}, which is a constant, an input or already written")
            written.add(o)
        ready.update(outs)
        view = OpView(name, codes[op.OpcodeIndex()], ins, outs, tensors, _options(r, op, name))
        calls |= check_operator(view, n_subgraphs)
    missing = [o for o in outputs if o not in ready]
    if missing:
        raise TFLiteProblem(f"{where}: output tensor {missing[0]} is never written")
    return calls


def _indices(r: _Reader, vector: Any, n: int, what: str, optional: bool = False) -> tuple[int, ...]:
    values = r.numbers(vector)
    r.count(len(values), what)
    low = -1 if optional else 0
    bad = [int(v) for v in values if not low <= v < n]
    if bad:
        raise TFLiteProblem(f"{what}: tensor index {bad[0]} is out of range ({n} tensors)")
    return tuple(int(v) for v in values)


def _options(r: _Reader, op: Any, name: str) -> tuple[str, Any] | None:
    kind, table = op.BuiltinOptionsType(), op.BuiltinOptions()
    if kind == 0 or table is None:
        return None
    if kind not in r.option_tables:
        raise TFLiteProblem(f"{name}: options of unknown kind {kind}")
    cls = r.option_tables[kind]
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    return cls.__name__, obj


MAX_CALL_DEPTH = 64  # subgraphs calling subgraphs (WHILE, IF, CALL_ONCE): real models nest a few


def _check_calls(calls: dict[int, set[int]]) -> None:
    """Control flow must not recurse, nor nest deeper than MAX_CALL_DEPTH: the interpreter would recurse until
    its stack overflows. Walked with an explicit stack, so a crafted chain cannot overflow Python's either."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(calls):
        if root in state:
            continue
        state[root] = 1
        path: list[tuple[int, list[int]]] = [(root, sorted(calls.get(root, ())))]
        while path:
            node, todo = path[-1]
            if not todo:
                state[node] = 2
                path.pop()
                continue
            callee = todo.pop()
            if state.get(callee) == 1:
                raise TFLiteProblem(f"subgraph {node} calls subgraph {callee} in a cycle")
            if callee in state:
                continue
            if len(path) >= MAX_CALL_DEPTH:
                raise TFLiteProblem(f"subgraphs call each other more than {MAX_CALL_DEPTH} deep")
            state[callee] = 1
            path.append((callee, sorted(calls.get(callee, ()))))


def _check_signatures(r: _Reader, model: Any, tensor_counts: list[int]) -> None:
    for i in range(r.count(model.SignatureDefsLength(), "signatures")):
        sig = model.SignatureDefs(i)
        s = sig.SubgraphIndex()
        if s >= len(tensor_counts):
            raise TFLiteProblem(f"signature {i} names subgraph {s} of {len(tensor_counts)}")
        for kind, n, get in (("input", sig.InputsLength(), sig.Inputs), ("output", sig.OutputsLength(), sig.Outputs)):
            for j in range(r.count(n, f"signature {i} {kind}s")):
                if not 0 <= get(j).TensorIndex() < tensor_counts[s]:
                    raise TFLiteProblem(f"signature {i} {kind} {j} names tensor {get(j).TensorIndex()}, out of range")
