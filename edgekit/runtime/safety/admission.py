"""Whether a model file may be opened in this process: no file can crash the process (issue 11).

``Model.__init__`` calls :func:`admit` right before it opens an interpreter session. Two guards:

1. **The structural check** (:mod:`edgekit.runtime.tflite.check`), for every .tflite file, every time: pure
   Python, about 1-2 ms for edgekit's artifacts, no interpreter involved. It names the first problem:
   ``x.tflite is not a valid TFLite model: the graph, operator 4 (CONV_2D): its bias is FLOAT32 ...``.
   ONNX files get ``onnx.checker`` and strict shape inference in the probe instead: importing ``onnx``
   costs 0.5 s of CPU and the runtime never imports it (``tests/test_runtime.py`` checks ``sys.modules``).
2. **The probe** (:mod:`edgekit.runtime.safety.probe`): the file is loaded and run once on zeros in a child process,
   so a SIGSEGV, SIGABRT or hang there becomes one ArtifactError naming the file, the signal and the phase.

The probe is skipped for files that are **known-good**: the structural check passed (TFLite; ONNX has none
in-process) and a **verdict** is on record: this machine already probed these exact bytes (sha256) with this
backend and backend version, and they passed. Verdicts are empty files under ``$EDGEKIT_CACHE_DIR`` (default
``$XDG_CACHE_HOME/edgekit`` or ``~/.cache/edgekit``), ``probe-v1/``; where that cannot be written the probe
simply runs again next time. An ONNX model with external data gets no verdict (its hash does not cover the
weights beside it): it is probed on every load. The thread count is not part of the verdict (1 to 256 threads,
``runtime.safety.opening``, run the same graph).

Why a verdict and not the integrity check (``runtime.safety.integrity``: the sidecar's sha256 or the seal matched):
a matching hash says the bytes are the ones some writer recorded, and whoever can write the file can
record its hash too (the seal is a checksum, not a signature). Of 5,000 fuzzed .tflite files, 13 passed the
structural check as it then stood and still killed LiteRT (rules for SPLIT, BATCH_MATMUL and absent inputs
followed); a resealed file of that kind would crash the process if a matching hash let it skip the probe.
The cost of asking for a verdict instead is one probe per file per machine: about 65 ms for TFLite and
0.56 s for ONNX here (85 ms without the ``onnx`` package, which devices usually do not have),
and the lookup is one sha256 (under 1 ms per MB) and a stat. Convert loads every artifact it writes, so
on the machine that converted, bench and predict find the verdict already there. There is no switch to turn
the probe off: a trusted deployment pays it once per file.

What neither guard covers: inputs other than zeros at batch 1 and 2 (values, other batch sizes) and
kernel limits the rules do not know; the probe proves that one load and one call worked.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from edgekit.errors import ArtifactError
from edgekit.formats import Format
from edgekit.runtime.backends import backend_class
from edgekit.runtime.metadata import tflite_schema
from edgekit.runtime.safety.probe import probe
from edgekit.runtime.tflite.check import TFLiteProblem, check_tflite

__all__ = ["admit", "check_structure", "verdict_dir"]

VERDICTS = "probe-v1"  # bump when the probe starts to check something new: older verdicts no longer count
_EXTERNAL_DATA = b"\n\x08location"  # TensorProto.external_data's "location" key, as protobuf encodes it


def admit(
    fmt: Format,
    content: bytes,
    path: Path,
    *,
    backend: str | None,
    num_threads: int | None,
    sha256: str | None = None,
) -> None:
    """Return when ``content`` may be opened in-process; raise ArtifactError (or the backend's UsageError /
    BackendError) when it may not (see the module docstring). ``sha256``: the content's, when the caller has
    it already (opening an artifact hashes it once)."""
    cls, _module = backend_class(fmt, backend)
    check_structure(fmt, content, path)
    # an ONNX model whose weights live in external data files: its bytes alone do not name what was probed
    digest = sha256 or hashlib.sha256(content).hexdigest()
    key = None if _EXTERNAL_DATA in content else _verdict_key(digest, cls.name, cls.version())
    if key is not None and _has_verdict(key):
        return
    probe(fmt, content, path, cls.module, num_threads)
    if key is not None:
        _record_verdict(key)


def check_structure(fmt: Format, content: bytes, path: Path) -> bool:
    """Raise ArtifactError naming the first structural problem; True when a check ran and passed, False
    when none could run (ONNX in-process, or no TFLite schema module installed)."""
    schema = tflite_schema() if fmt is Format.TFLITE else None  # None with tflite_runtime alone: the probe decides
    if schema is None:
        return False
    try:
        check_tflite(content, schema)
    except TFLiteProblem as problem:
        raise ArtifactError(
            f"{path} is not a valid TFLite model: {problem}",
            "the file is damaged or was not written by a TFLite converter; no interpreter has opened it",
        ) from None
    return True


# -------------------------------------------------------------------------------------------- verdicts
def verdict_dir() -> Path:
    """Where probe verdicts are kept."""
    root = os.environ.get("EDGEKIT_CACHE_DIR")
    if root:
        return Path(root) / VERDICTS
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edgekit" / VERDICTS


def _verdict_key(content_sha256: str, backend: str, version: str | None) -> str:
    facts = f"{content_sha256}|{backend}|{version}"
    return hashlib.sha256(facts.encode()).hexdigest()


def _has_verdict(key: str) -> bool:
    try:
        return (verdict_dir() / key).is_file()
    except OSError:
        return False


def _record_verdict(key: str) -> None:
    """Best effort: a read-only or full disk only means the next load probes again."""
    folder = verdict_dir()
    try:  # an empty file: its existence is the verdict, so there is no half-written state
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
    except OSError:
        return
