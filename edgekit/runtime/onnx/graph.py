"""GraphFacts of an .onnx file, read from the protobuf wire format itself.

A device has onnxruntime but not the ``onnx`` package, and onnxruntime does not show a model's nodes; the
few fields edgekit needs (graph inputs and outputs, each node's op type, domain, inputs and outputs) are
read straight from the bytes. Field numbers are those of onnx.proto (ModelProto.graph = 7, GraphProto.node
= 1, .initializer = 5, .input = 11, .output = 12; NodeProto.input = 1, .output = 2, .op_type = 4,
.domain = 7; ValueInfoProto.name = 1). Initializers are skipped by length, never decoded.
"""

from __future__ import annotations

from collections.abc import Iterator

from edgekit.errors import ArtifactError
from edgekit.runtime.graph import GraphFacts

PASSTHROUGH = ("Identity", "Cast", "QuantizeLinear", "DequantizeLinear", "Reshape", "Flatten", "Squeeze")
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")  # what onnxruntime's CPU provider runs
STATIC_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
DYNAMIC_OPS = {"MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"}
FLOAT16 = 10  # TensorProto.DataType
MAX_STEPS = 16
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ArtifactError("its protobuf is truncated", "the file is corrupt or not an ONNX model")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end or the varint value) for each field in a message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value, value
        elif wire == LENGTH:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ArtifactError("its protobuf is truncated", "the file is corrupt or not an ONNX model")
            yield number, wire, pos, pos + size
            pos += size
        elif wire in (FIXED64, FIXED32):
            pos += 8 if wire == FIXED64 else 4
        else:
            raise ArtifactError(f"its protobuf has wire type {wire}", "the file is corrupt or not an ONNX model")


def _text(buf: bytes, start: int, end: int) -> str:
    return buf[start:end].decode("utf-8", "replace")


def _message(buf: bytes, start: int, end: int, wanted: dict[int, str]) -> dict[str, list[str]]:
    """The string fields named in ``wanted`` (field number -> key) of one message, repeated ones as lists."""
    found: dict[str, list[str]] = {key: [] for key in wanted.values()}
    for number, wire, a, b in _fields(buf, start, end):
        if wire == LENGTH and number in wanted:
            found[wanted[number]].append(_text(buf, a, b))
    return found


def read_onnx_graph(content: bytes) -> GraphFacts:
    """Inputs (not initializers), outputs, the output's producer and non-standard ops of the main graph."""
    graph = next(((a, b) for n, w, a, b in _fields(content, 0, len(content)) if n == 7 and w == LENGTH), None)
    if graph is None:
        raise ArtifactError("it holds no graph", "the file is corrupt or not an ONNX model")
    nodes: list[dict[str, list[str]]] = []
    inputs: list[str] = []
    outputs: list[str] = []
    initializers: set[str] = set()
    half = False
    for number, wire, a, b in _fields(content, *graph):
        if wire != LENGTH:
            continue
        if number == 1:
            nodes.append(_message(content, a, b, {1: "input", 2: "output", 4: "op_type", 7: "domain"}))
        elif number == 5:
            initializers.update(_message(content, a, b, {8: "name"})["name"])
            half = half or _data_type(content, a, b) == FLOAT16
        elif number in (11, 12):
            (inputs if number == 11 else outputs).extend(_message(content, a, b, {1: "name"})["name"])
    custom = sorted({_op(n) for n in nodes if (n["domain"] or [""])[0] not in STANDARD_DOMAINS})
    ops = {(n["op_type"] or [""])[0] for n in nodes}
    real_inputs = tuple(i for i in inputs if i not in initializers)  # old exporters list weights as inputs
    return GraphFacts(
        inputs=real_inputs,
        outputs=tuple(outputs),
        output_producer=_producer(nodes, outputs[0]) if len(outputs) == 1 else None,
        custom_ops=tuple(custom),
        quantization=_quantization(ops, half),
    )


def _quantization(ops: set[str], half: bool) -> str:
    """QDQ or QLinear ops: int8 (static); integer matmuls or dynamic quantize ops: dynamic; float16 weights:
    float16; else none (the names of formats.Quantization)."""
    if ops & STATIC_OPS:
        return "int8"
    if ops & DYNAMIC_OPS:
        return "dynamic"
    return "float16" if half else "none"


def _data_type(buf: bytes, start: int, end: int) -> int:
    """TensorProto.data_type (field 2), 0 when absent."""
    return next((v for n, w, v, _ in _fields(buf, start, end) if n == 2 and w == VARINT), 0)


def _op(node: dict[str, list[str]]) -> str:
    return f"{(node['domain'] or [''])[0]}.{(node['op_type'] or ['?'])[0]}"


def _producer(nodes: list[dict[str, list[str]]], tensor: str) -> str | None:
    by_output = {out: node for node in nodes for out in node["output"]}
    for _ in range(MAX_STEPS):
        node = by_output.get(tensor)
        if node is None:
            return None
        op = (node["op_type"] or [""])[0]
        if op not in PASSTHROUGH or not node["input"]:
            return op
        tensor = node["input"][0]
    return None


def read_onnx_metadata(content: bytes) -> dict[str, bytes]:
    """ModelProto.metadata_props (field 14: key = 1, value = 2) as raw bytes by key, read from the wire."""
    props: dict[str, bytes] = {}
    try:
        for number, wire, a, b in _fields(content, 0, len(content)):
            if number == 14 and wire == LENGTH:
                entry = {n: content[x:y] for n, w, x, y in _fields(content, a, b) if w == LENGTH}
                props[entry.get(1, b"").decode("utf-8", "replace")] = entry.get(2, b"")
    except ArtifactError:
        return {}  # a damaged file: the graph reader and onnxruntime say so
    return props
