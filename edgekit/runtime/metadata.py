"""Metadata that travels inside an artifact, so the model file alone is enough on a device.

TFLite: a Model.metadata entry named ``edgekit`` whose buffer holds UTF-8 JSON (the flatbuffer schema's
own place for metadata; read and written with the schema module that ai-edge-litert ships).
ONNX: the ``metadata_props`` key ``edgekit`` holding the same JSON.
Beside either, the sidecar ``NAME.json`` holds the full manifest.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

METADATA_KEY = "edgekit"


def tflite_schema() -> Any:
    """The TFLite flatbuffer schema module from whichever TFLite package is installed."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        try:
            from tensorflow.lite.python import schema_py_generated as schema
        except ImportError:
            return None
    return schema


def read_tflite_metadata(model_bytes: bytes) -> dict[str, Any] | None:
    """The edgekit JSON embedded in a .tflite file, or None when it has none (or no schema is installed)."""
    schema = tflite_schema()
    if schema is None:
        return None
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() and entry.Name().decode() == METADATA_KEY:
                buffer = model.Buffers(entry.Buffer())
                return json.loads(buffer.DataAsNumpy().tobytes().decode("utf-8"))
    except (
        IndexError,
        ValueError,
        AttributeError,
        UnicodeDecodeError,
        struct.error,
    ):  # JSONDecodeError is a ValueError
        return None  # a foreign or damaged metadata entry: fall back to the sidecar
    return None


def embed_tflite_metadata(model_bytes: bytes, payload: dict[str, Any]) -> bytes:
    """Return the .tflite bytes with ``payload`` stored as the ``edgekit`` metadata entry (replacing one)."""
    import flatbuffers

    schema = tflite_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0))
    for buffer in model.buffers or []:  # large models keep data at an offset; ours never do, but be safe
        if buffer.offset:
            buffer.data = model_bytes[buffer.offset : buffer.offset + buffer.size]
            buffer.offset = buffer.size = 0
    model.metadata = [m for m in (model.metadata or []) if (m.name or b"") not in (METADATA_KEY, METADATA_KEY.encode())]
    blob = schema.BufferT()
    blob.data = list(json.dumps(payload, sort_keys=True).encode("utf-8"))
    model.buffers.append(blob)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_sidecar(artifact: Path) -> dict[str, Any] | None:
    """The NAME.json manifest beside an artifact, or None."""
    sidecar = artifact.with_suffix(".json")
    if not sidecar.is_file():
        return None
    try:
        return json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
