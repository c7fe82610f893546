"""The interpreter backends, by name, and opening a session with the best installed one.

One small session class per interpreter (``tflite_session.py``, ``onnx_session.py``) behind one interface
(``session.py``); ``open_session`` walks ``FORMATS[fmt].backends`` in order and opens the first installed one.
TensorFlow is imported only when no lighter TFLite interpreter is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.errors import BackendError, UsageError
from edgekit.formats import FORMATS, Format
from edgekit.runtime.onnx.session import OnnxRuntimeSession
from edgekit.runtime.session import Prepared, Session
from edgekit.runtime.tensors import ONNX_DTYPES, TensorInfo
from edgekit.runtime.tflite.session import LiteRTSession, TensorFlowLiteSession, TFLiteRuntimeSession, TFLiteSession

__all__ = [
    "BACKENDS",
    "ONNX_DTYPES",
    "TFLITE_BACKENDS",
    "LiteRTSession",
    "OnnxRuntimeSession",
    "Prepared",
    "Session",
    "TFLiteSession",
    "TensorInfo",
    "backend_class",
    "open_session",
]

BACKENDS: dict[str, type[Session]] = {
    cls.name: cls for cls in (LiteRTSession, TFLiteRuntimeSession, TensorFlowLiteSession, OnnxRuntimeSession)
}

# (name, module, distribution) per TFLite backend, in preference order: for callers that open interpreters
TFLITE_BACKENDS = tuple((n, BACKENDS[n].module, BACKENDS[n].distributions[0]) for n in FORMATS[Format.TFLITE].backends)


def backend_class(fmt: Format, backend: str | None = None) -> tuple[type[Session], Any]:
    """The first installed backend for a format (or the one named) and its imported module."""
    names = FORMATS[fmt].backends
    if backend is not None and backend not in names:
        raise UsageError(f"backend {backend!r} cannot run {fmt.value} files", f"choose one of: {', '.join(names)}")
    for name in names if backend is None else (backend,):
        module = BACKENDS[name].import_module()
        if module is not None:
            return BACKENDS[name], module
    wanted = backend or " or ".join(names)
    hint = FORMATS[fmt].install_hint if backend is None else f"pip install {BACKENDS[backend].distributions[0]}"
    raise BackendError(f"no {wanted} interpreter is installed to run {fmt.value} files", hint)


def open_session(
    fmt: Format, content: bytes, path: Path, backend: str | None = None, num_threads: int | None = None
) -> Session:
    """A session on the model bytes with the best installed backend for its format (or the one named)."""
    cls, module = backend_class(fmt, backend)
    return cls(module, content, path, num_threads)  # type: ignore[call-arg]
