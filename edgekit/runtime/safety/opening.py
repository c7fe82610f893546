"""Reading an artifact file before any interpreter sees it: bounded, identified, checked, its metadata validated.

In order: the file must be a regular file of at most ``MAX_MODEL_BYTES`` (a FIFO or ``/dev/zero`` is refused,
never read); its suffix and first bytes must agree on the format; its graph is read (``runtime.graph``:
several inputs or outputs, or a custom op only something else runs (the Edge TPU's, Flex), are refused here);
its hashes are checked (``runtime.safety.integrity``); its embedded metadata and its sidecar are validated against the
schema (``runtime.safety.metadata_schema``) and must agree with each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.bounds import open_regular
from edgekit.errors import ArtifactError, DataError, UsageError
from edgekit.formats import Format, format_of_bytes, format_of_path
from edgekit.runtime.graph import GraphFacts, check_single_io, read_graph
from edgekit.runtime.metadata import embedded_metadata, read_sidecar
from edgekit.runtime.safety.integrity import Integrity, check_integrity
from edgekit.runtime.safety.metadata_schema import check_agreement, validate_metadata
from edgekit.runtime.tflite.graph import custom_op_runner

MAX_MODEL_BYTES = 2 << 30  # the flatbuffer and protobuf formats cannot address more in one file
MAX_THREADS = 256  # interpreter threads: far above any edge device; 100,000 crashed LiteRT


@dataclass(frozen=True)
class OpenedFile:
    """An artifact's bytes and what was learnt from them before an interpreter was involved."""

    content: bytes
    format: Format
    graph: GraphFacts | None
    metadata: dict[str, Any]
    metadata_source: str  # "embedded", "sidecar" or "none"
    integrity: Integrity
    notes: tuple[str, ...]
    sha256: str  # of the content: the integrity check and the probe verdict both key on it


def check_threads(num_threads: int | None) -> None:
    if num_threads is not None and not 1 <= num_threads <= MAX_THREADS:
        raise UsageError(f"--threads must be between 1 and {MAX_THREADS}, got {num_threads}")


def _read(path: Path) -> bytes:
    try:
        fh, _ = open_regular(path, MAX_MODEL_BYTES, "model file")
    except DataError as exc:
        raise ArtifactError(exc.message, exc.hint) from None
    with fh:
        content = fh.read(MAX_MODEL_BYTES + 1)  # a file that grew since it was checked is still bounded
    if len(content) > MAX_MODEL_BYTES:
        raise ArtifactError(f"model file {path} is larger than {MAX_MODEL_BYTES:,} bytes")
    return content


def _sniff_format(path: Path, head: bytes) -> Format:
    claimed, actual = format_of_path(path.name), format_of_bytes(head)
    if claimed is None:
        raise ArtifactError(f"{path}: unknown artifact type", "edgekit runs .tflite and .onnx files")
    if actual is not claimed:
        if actual is not None:
            raise ArtifactError(
                f"{path} looks like a {actual.value} model, not {claimed.value}", "rename it with the right suffix"
            )
        raise ArtifactError(f"{path} is not a {claimed.value} model", "the file is corrupt or truncated")
    return claimed


def _check_graph(facts: GraphFacts | None, path: Path, backend: str | None) -> None:
    """Refuse, before an interpreter sees it, a graph edgekit cannot run; name what would run it."""
    if facts is None:
        return
    check_single_io(facts, str(path))
    for op in facts.custom_ops:
        runner = custom_op_runner(op)
        if runner is not None and not (op.startswith("Flex") and backend == "tensorflow"):
            raise ArtifactError(f"{path} needs the custom op {op}, which only {runner[0]} runs", runner[1])


def _metadata(
    fmt: Format, content: bytes, path: Path, sidecar: dict[str, Any] | None, verify: bool
) -> tuple[dict[str, Any], str, list[str]]:
    """(metadata, where it came from, notes): the embedded copy, else the sidecar, validated and agreeing."""
    notes: list[str] = []
    embedded = embedded_metadata(fmt, content, str(path))
    found: dict[str, Any] = {}
    for name, data in (("embedded", embedded), ("sidecar", sidecar)):
        if data is None:
            continue
        where = f"{path}: its embedded metadata" if name == "embedded" else f"its sidecar {path.with_suffix('.json')}"
        try:
            found[name] = validate_metadata(data, where, fmt)
        except ArtifactError as exc:
            if verify:
                raise
            notes.append(f"{exc.message} (ignored: --no-verify)")
    if verify and "embedded" in found and "sidecar" in found:
        check_agreement(found["embedded"], found["sidecar"], path.name, path.with_suffix(".json").name)
    source = next((name for name in ("embedded", "sidecar") if name in found), "none")
    return found.get(source, {}), source, notes


def open_file(path: Path, backend: str | None = None, verify: bool = True) -> OpenedFile:
    """Read and check an artifact (see the module docstring); every refusal is one ArtifactError naming it."""
    content = _read(path)
    fmt = _sniff_format(path, content[:8])
    graph = read_graph(fmt, content, str(path))
    _check_graph(graph, path, backend)
    sidecar, damage = read_sidecar(path)  # read once: the hash check and the metadata both use it
    digest = hashlib.sha256(content).hexdigest()
    integrity = check_integrity(content, path, sidecar, verify, digest)
    metadata, source, notes = _metadata(fmt, content, path, sidecar, verify)
    if damage:
        notes.insert(0, damage)
    standard = graph.standard_metadata if graph else None
    if standard is not None and standard.problem:
        notes.append(f"{path}: {standard.problem}; that part of its TFLite Model Metadata was not used")
    return OpenedFile(content, fmt, graph, metadata, source, integrity, tuple(notes), digest)
