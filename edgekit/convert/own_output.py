"""When edgekit's own converted file does not load in its own runtime: say so, and name the op.

A file edgekit just wrote is not "corrupt" in the user's sense: a converter (TensorFlow's, tf2onnx,
onnxruntime's quantizer) produced a graph the runtime rejects. The message says whose fault it is and which
op it is, so the report to us (or to the converter's project) is one line.
"""

from __future__ import annotations

import re
from typing import Any

from edgekit.errors import ArtifactError, ConversionError
from edgekit.formats import Format

_TFLITE_NODE = re.compile(r"Node number (\d+) \((\w+)\)")
HINT = "a converter bug, not your model: the artifacts already written are fine; report this line to edgekit"


def refused(fmt: Format, name: str, content: bytes, exc: ArtifactError) -> ConversionError:
    """The ConversionError for an artifact edgekit wrote that its own runtime refuses to load."""
    reason = str(exc).split(": ", 1)[-1]
    op = first_failing_onnx_node(content) if fmt is Format.ONNX else _tflite_op(reason)
    where = f"; it fails at op {op}" if op else "; no single op could be isolated"
    runtime = "onnxruntime" if fmt is Format.ONNX else "the TFLite interpreter"
    return ConversionError(f"edgekit's own {name} output does not load in {runtime}: {reason}{where}", HINT)


def _tflite_op(reason: str) -> str | None:
    found = _TFLITE_NODE.search(reason)
    return f"{found.group(2)} (node {found.group(1)})" if found else None


def first_failing_onnx_node(content: bytes) -> str | None:
    """'OpType node-name' of the first node whose graph prefix onnxruntime refuses, found by bisection.

    Each try keeps nodes[:k] and makes the last node's outputs the graph outputs; the session options are
    edgekit's own, so the prefix fails for the same reason the whole file does.
    """
    import onnx

    proto = onnx.load_from_string(content)
    nodes = list(proto.graph.node)
    types = _value_types(proto)
    if _loads(proto, nodes, types):
        return None
    low, high = 0, len(nodes)  # invariant: nodes[:low] loads (or is empty), nodes[:high] fails
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _loads(proto, nodes[:middle], types) else (low, middle)
    node = nodes[high - 1]
    return f"{node.op_type} '{node.name}'"


def _value_types(proto: Any) -> dict[str, int]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(proto)
    values = [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]
    return {v.name: v.type.tensor_type.elem_type for v in values}


def _loads(proto: Any, nodes: list[Any], types: dict[str, int]) -> bool:
    import onnx
    import onnxruntime as ort

    from edgekit.native_output import quiet_native_output
    from edgekit.runtime.onnx.session import session_options

    if not nodes:
        return True
    graph = onnx.helper.make_graph(
        nodes,
        proto.graph.name,
        list(proto.graph.input),
        [onnx.helper.make_tensor_value_info(n, types.get(n, onnx.TensorProto.FLOAT), None) for n in nodes[-1].output],
        initializer=list(proto.graph.initializer),
    )
    prefix = onnx.helper.make_model(graph, opset_imports=list(proto.opset_import), ir_version=proto.ir_version)
    try:
        with quiet_native_output():
            ort.InferenceSession(prefix.SerializeToString(), session_options(ort), providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime's Fail/InvalidGraph/...: this prefix is refused
        return False
    return True
