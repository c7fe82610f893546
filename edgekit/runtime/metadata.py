"""Metadata that travels inside an artifact, so the model file alone is enough on a device.

TFLite: a Model.metadata entry named ``edgekit`` whose buffer holds UTF-8 JSON (the flatbuffer schema's
own place for metadata; read and written with the schema module that ai-edge-litert ships).
ONNX: the ``metadata_props`` key ``edgekit`` holding the same JSON.
Beside either, the sidecar ``NAME.json`` holds the full manifest.
"""

from __future__ import annotations

import json
import stat
import struct
from pathlib import Path
from typing import Any

from edgekit.errors import ArtifactError
from edgekit.formats import Format
from edgekit.manifests import ARTIFACT_KIND

METADATA_KEY = "edgekit"
MAX_SIDECAR_BYTES = 16 << 20


def tflite_schema() -> Any:
    """The TFLite flatbuffer schema module ai-edge-litert ships (a base dependency), or None without it.

    Not TensorFlow's copy: the runtime never imports TensorFlow, and every model load reads the schema."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        return None
    return schema


def tflite_metadata_bytes(model_bytes: bytes) -> bytes | None:
    """The bytes of the ``edgekit`` Model.metadata entry of a .tflite file, or None (none, or no schema)."""
    schema = tflite_schema()
    if schema is None:
        return None
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if (entry.Name() or b"") == METADATA_KEY.encode():
                buffer = model.Buffers(entry.Buffer())
                return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    except (IndexError, ValueError, AttributeError, TypeError, struct.error):
        return None  # the structure itself is damaged: the graph reader and the interpreter say so
    return None


def embedded_metadata(fmt: Format, content: bytes, where: str) -> Any | None:
    """The metadata edgekit embedded in an artifact (decoded JSON, not yet validated), or None when it has
    none; an entry that is not UTF-8 JSON is one ArtifactError naming ``where``."""
    if fmt is Format.TFLITE:
        raw = tflite_metadata_bytes(content)
    else:
        from edgekit.runtime.onnx.graph import read_onnx_metadata

        raw = read_onnx_metadata(content).get(METADATA_KEY)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"{where}: its embedded edgekit metadata is not valid JSON ({type(exc).__name__})",
            "the file is damaged or was edited; convert the model again",
        ) from None


def embed_tflite_metadata(model_bytes: bytes, payload: dict[str, Any]) -> bytes:
    """Return the .tflite bytes with ``payload`` stored as the ``edgekit`` metadata entry (replacing one)."""
    import flatbuffers

    schema = tflite_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0))
    for buffer in model.buffers or []:  # large models keep data at an offset; ours never do, but be safe
        if buffer.offset:
            buffer.data = model_bytes[buffer.offset : buffer.offset + buffer.size]
            buffer.offset = buffer.size = 0
    ours = (METADATA_KEY, METADATA_KEY.encode())
    for entry in model.metadata or []:
        if (entry.name or b"") in ours:  # the replaced entry's buffer is emptied, not left behind as an orphan
            model.buffers[entry.buffer].data = None
    model.metadata = [m for m in (model.metadata or []) if (m.name or b"") not in ours]
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


def read_sidecar(artifact: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the NAME.json manifest beside an artifact, None), or (None, why it was not used) when it is damaged;
    (None, None) when there is none."""
    sidecar = artifact.with_suffix(".json")
    if not sidecar.exists():
        return None, None
    try:
        info = sidecar.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SIDECAR_BYTES:
            return None, f"{sidecar} is not a sidecar edgekit wrote (not a small regular file); it was ignored"
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
        return None, f"{sidecar} is damaged ({type(exc).__name__}); it was ignored"
    if not isinstance(data, dict):
        return None, f"{sidecar} does not hold a JSON object; it was ignored"
    if not _is_ours(data):  # e.g. a TF.js model.json beside a model.tflite: not ours to validate
        return None, f"{sidecar} is not an edgekit sidecar; it was ignored"
    return data, None


def _is_ours(data: dict[str, Any]) -> bool:
    """An edgekit sidecar says so (kind), or, older or hand-written, holds a contract or edgekit's fields."""
    kind = data.get("kind")
    if kind is not None:
        return kind == ARTIFACT_KIND
    return "contract" in data or (data.get("format") in ("tflite", "onnx") and "mode" in data)
