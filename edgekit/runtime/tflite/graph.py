"""GraphFacts of a .tflite file, read with the flatbuffer schema module the TFLite package ships.

Custom operators are named here, with what would run them: an interpreter without them fails with
"unresolved custom op", which says nothing about where the op lives.
"""

from __future__ import annotations

import struct
from typing import Any

from edgekit.errors import ArtifactError
from edgekit.runtime.graph import GraphFacts
from edgekit.runtime.metadata import tflite_schema
from edgekit.runtime.model_metadata import STANDARD_METADATA_NAME, read_standard_metadata

# operators a softmax's output passes through on its way out of a converted model
PASSTHROUGH = ("QUANTIZE", "DEQUANTIZE", "RESHAPE", "CAST", "SQUEEZE")
MAX_STEPS = 16

# custom ops no CPU interpreter has, and what runs them
CUSTOM_OP_RUNNERS = {
    "edgetpu-custom-op": (
        "the Edge TPU (a Coral device) through its delegate: "
        "Interpreter(..., experimental_delegates=[load_delegate('libedgetpu.so.1')])",
        "this file was compiled by edgetpu_compiler and runs only on an Edge TPU; benchmark or run the "
        ".tflite from before edgetpu_compiler on the CPU",
    ),
}
FLEX_RUNNER = (
    "TensorFlow's Select (Flex) ops, which only the full tensorflow package's interpreter has",
    "convert with builtins only (TFLITE_BUILTINS), or run it with --backend tensorflow",
)


def custom_op_runner(name: str) -> tuple[str, str] | None:
    """(what runs the op, hint) for a custom op no CPU interpreter has; None for others."""
    if name.startswith("Flex"):
        return FLEX_RUNNER
    return CUSTOM_OP_RUNNERS.get(name)


def read_tflite_graph(content: bytes) -> GraphFacts | None:
    """Inputs, outputs, the output's producer and custom ops of subgraph 0 (None: no schema installed)."""
    schema = tflite_schema()
    if schema is None:
        return None
    try:
        return _read(schema, content)
    except (IndexError, ValueError, AttributeError, TypeError, struct.error) as exc:
        raise ArtifactError(
            f"its structure cannot be read ({type(exc).__name__})", "the file is corrupt or truncated"
        ) from None


def _read(schema: Any, content: bytes) -> GraphFacts:
    model = schema.Model.GetRootAs(content, 0)
    if model.SubgraphsLength() < 1:
        raise ArtifactError("it holds no subgraph", "the file is corrupt or not a TFLite model")
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    op_names = [_op_name(model.OperatorCodes(i), names, schema) for i in range(model.OperatorCodesLength())]
    producers = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        for t in op.OutputsAsNumpy() if op.OutputsLength() else ():
            producers[int(t)] = (op_names[op.OpcodeIndex()], op)
    inputs = [int(t) for t in graph.InputsAsNumpy()] if graph.InputsLength() else []
    outputs = [int(t) for t in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
    used = {op_names[graph.Operators(i).OpcodeIndex()] for i in range(graph.OperatorsLength())}
    types = {graph.Tensors(t).Type() for t in range(graph.TensorsLength())}
    return GraphFacts(
        inputs=tuple(_tensor_name(graph, t) for t in inputs),
        outputs=tuple(_tensor_name(graph, t) for t in outputs),
        output_producer=_producer(producers, outputs[0]) if len(outputs) == 1 else None,
        custom_ops=tuple(sorted(n.removeprefix("custom:") for n in used if n.startswith("custom:"))),
        standard_metadata=read_standard_metadata(content, _metadata_buffer(model, STANDARD_METADATA_NAME)),
        quantization=_quantization(schema, types),
    )


def _quantization(schema: Any, types: set[int]) -> str:
    """int16x8 (int16 activations, int8 weights), int8 (8-bit tensors and no float32 one: integer compute),
    float16 (half weights), dynamic (int8 weights beside float32 activations), else none: the names of
    formats.Quantization."""
    kinds = schema.TensorType
    if kinds.FLOAT32 not in types and kinds.INT16 in types and kinds.INT8 in types:
        return "int16x8"
    if kinds.FLOAT32 not in types and types & {kinds.INT8, kinds.UINT8}:
        return "int8"
    if kinds.FLOAT16 in types:
        return "float16"
    return "dynamic" if kinds.INT8 in types else "none"


def _op_name(code: Any, names: dict[int, str], schema: Any) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == schema.BuiltinOperator.CUSTOM:
        return "custom:" + (code.CustomCode() or b"").decode("utf-8", "replace")
    return names.get(builtin, f"op{builtin}")


def _tensor_name(graph: Any, index: int) -> str:
    if not 0 <= index < graph.TensorsLength():
        raise ArtifactError(f"it names tensor {index}, but has {graph.TensorsLength()}", "the file is corrupt")
    return (graph.Tensors(index).Name() or b"").decode("utf-8", "replace")


def _producer(producers: dict[int, tuple[str, Any]], tensor: int) -> str | None:
    """The first operator behind ``tensor`` that is not a pass-through step."""
    for _ in range(MAX_STEPS):
        found = producers.get(tensor)
        if found is None:
            return None
        name, op = found
        if name not in PASSTHROUGH or not op.InputsLength():
            return name
        tensor = int(op.Inputs(0))
    return None


def _metadata_buffer(model: Any, name: str) -> bytes | None:
    """The bytes of the Model.metadata entry called ``name`` (inline buffers only), or None."""
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"") == name.encode():
            buffer = model.Buffers(entry.Buffer())
            return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else None
    return None
