"""Standard TFLite Model Metadata (the ``TFLITE_METADATA`` entry TFLite Support's metadata writers add).

The entry's buffer is a flatbuffer of ``metadata_schema.fbs`` (file identifier "M001"); its associated
files (the label file) are stored in a zip archive appended to the .tflite file. edgekit reads only what
the contract needs, with flatbuffers' table reader (the schema's generated module is not installed on a
device): the first input's NormalizationOptions (mean, std), its ImageProperties color space, and the
first output's TENSOR_AXIS_LABELS file. Field numbers are those of metadata_schema.fbs (v1.5).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

STANDARD_METADATA_NAME = "TFLITE_METADATA"
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union member
IMAGE_PROPERTIES = 2  # ContentProperties union member
TENSOR_AXIS_LABELS = 2  # AssociatedFileType
COLOR_SPACES = {1: "RGB", 2: "GRAYSCALE"}
MAX_LABEL_FILE = 1 << 20
# vtable slots: field n of a table is at 4 + 2n
MODEL_SUBGRAPHS, SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS = 3, 2, 3
TENSOR_CONTENT, TENSOR_PROCESS_UNITS, TENSOR_FILES = 3, 4, 6


@dataclass(frozen=True)
class StandardMetadata:
    """What edgekit takes from a file's TFLite Model Metadata."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    color_space: str | None = None
    label_file: str | None = None
    labels: tuple[str, ...] | None = None
    problem: str | None = None  # why part of it could not be used


def read_standard_metadata(model_bytes: bytes, buffer: bytes | None) -> StandardMetadata | None:
    """The metadata in ``buffer`` (the TFLITE_METADATA entry's bytes) and the labels it names, or None."""
    if not buffer:
        return None
    try:
        import flatbuffers  # ai-edge-litert and tflite-runtime both depend on it
    except ImportError:
        return StandardMetadata(problem="the flatbuffers package is not installed")
    try:
        found = _read(flatbuffers, buffer)
    except (IndexError, ValueError, TypeError, struct.error) as exc:  # what flatbuffers raises on damage
        return StandardMetadata(problem=f"its TFLite Model Metadata cannot be read ({type(exc).__name__})")
    if found.label_file:
        labels, problem = _labels(model_bytes, found.label_file)
        return StandardMetadata(found.mean, found.std, found.color_space, found.label_file, labels, problem)
    return found


class _Table:
    """A flatbuffer table and the few typed reads this module needs."""

    def __init__(self, flatbuffers: Any, buf: bytes, pos: int) -> None:
        self.fb, self.tab = flatbuffers, flatbuffers.table.Table(buf, pos)

    def _offset(self, field: int) -> int:
        return int(self.tab.Offset(4 + 2 * field))

    def table(self, field: int) -> _Table | None:
        o = self._offset(field)
        return None if not o else _Table(self.fb, self.tab.Bytes, self.tab.Indirect(o + self.tab.Pos))

    def tables(self, field: int) -> list[_Table]:
        o = self._offset(field)
        if not o:
            return []
        start, count = self.tab.Vector(o), self.tab.VectorLen(o)
        return [_Table(self.fb, self.tab.Bytes, self.tab.Indirect(start + 4 * i)) for i in range(min(count, 256))]

    def string(self, field: int) -> str | None:
        o = self._offset(field)
        return None if not o else self.tab.String(o + self.tab.Pos).decode("utf-8")

    def byte(self, field: int) -> int:
        o = self._offset(field)
        return 0 if not o else int(self.tab.Get(self.fb.number_types.Uint8Flags, o + self.tab.Pos))

    def floats(self, field: int) -> tuple[float, ...] | None:
        o = self._offset(field)
        if not o:
            return None
        start, count = self.tab.Vector(o), self.tab.VectorLen(o)
        flags = self.fb.number_types.Float32Flags
        return tuple(float(self.tab.Get(flags, start + 4 * i)) for i in range(min(count, 4096)))

    def union(self, type_field: int, value_field: int) -> tuple[int, _Table | None]:
        kind, o = self.byte(type_field), self._offset(value_field)
        if not o:
            return kind, None
        return kind, _Table(self.fb, self.tab.Bytes, self.tab.Indirect(o + self.tab.Pos))


def _read(flatbuffers: Any, buffer: bytes) -> StandardMetadata:
    root = _Table(flatbuffers, buffer, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buffer, 0))
    subgraphs = root.tables(MODEL_SUBGRAPHS)
    if not subgraphs:
        return StandardMetadata()
    inputs, outputs = subgraphs[0].tables(SUBGRAPH_INPUTS), subgraphs[0].tables(SUBGRAPH_OUTPUTS)
    mean = std = color = label_file = None
    if inputs:
        for unit in inputs[0].tables(TENSOR_PROCESS_UNITS):
            kind, options = unit.union(0, 1)
            if kind == NORMALIZATION_OPTIONS and options is not None:
                mean, std = options.floats(0), options.floats(1)
        content = inputs[0].table(TENSOR_CONTENT)
        if content is not None:
            kind, properties = content.union(0, 1)
            if kind == IMAGE_PROPERTIES and properties is not None:
                color = COLOR_SPACES.get(properties.byte(0))
    if outputs:
        label_file = next(
            (f.string(0) for f in outputs[0].tables(TENSOR_FILES) if f.byte(2) == TENSOR_AXIS_LABELS), None
        )
    return StandardMetadata(mean=mean, std=std, color_space=color, label_file=label_file)


def _labels(model_bytes: bytes, name: str) -> tuple[tuple[str, ...] | None, str | None]:
    """The label file packed in the zip appended to the model, one label a line."""
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
            info = archive.getinfo(name)
            if info.file_size > MAX_LABEL_FILE:
                return None, f"its label file {name} is larger than {MAX_LABEL_FILE} bytes"
            text = archive.read(info).decode("utf-8")
    except (
        zipfile.BadZipFile,
        KeyError,
        UnicodeDecodeError,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ) as exc:  # fmt: skip  (RuntimeError: encrypted; NotImplementedError: compression method)
        why = "zlib.error" if isinstance(exc, zlib.error) else type(exc).__name__
        return None, f"its label file {name} cannot be read from the file ({why})"
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    return labels or None, None if labels else f"its label file {name} is empty"
