"""One small session class per interpreter, behind one interface; the format table picks among them.

A session runs inputs already in the model's dtype and shape (``run``), fills the input tensor in place
and runs (``mapped``, the hot path of ``Model.predict``), and hands out pre-bound calls for timing
(``bind``). ``open_session`` walks ``FORMATS[fmt].backends`` in order and opens the first installed one.

TFLite interpreters are not re-entrant: their calls are serialised by a lock. onnxruntime sessions run
concurrently. TensorFlow is imported only when no lighter TFLite interpreter is installed.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgekit.errors import ArtifactError, BackendError, UsageError
from edgekit.formats import FORMATS, Format
from edgekit.native_output import quiet_native_output
from edgekit.runtime.metadata import METADATA_KEY, read_tflite_metadata
from edgekit.versions import package_version

Mapper = Any  # edgekit.runtime.pixels.PixelMapper: raw samples -> the input tensor array, or into a view
MappedRun = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]  # (raw samples, input shape) -> raw output

ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor: shape with -1 for dynamic dimensions; scale 0 means not quantized."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0

    @property
    def quant(self) -> tuple[float, int]:
        return self.scale, self.zero_point


class Session:
    """The interface every backend implements; see the module docstring."""

    name: ClassVar[str]
    module: ClassVar[str]  # what to import
    distributions: ClassVar[tuple[str, ...]]  # whose version to report
    concurrent: ClassVar[bool]
    input: TensorInfo
    output: TensorInfo

    @classmethod
    def import_module(cls) -> Any | None:
        """The backend's module, or None when it is not installed."""
        try:
            return importlib.import_module(cls.module)
        except ImportError:
            return None

    @classmethod
    def version(cls) -> str | None:
        return next((v for v in map(package_version, cls.distributions) if v), None)

    def embedded_metadata(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mapped(self, mapper: Mapper) -> MappedRun:
        """A pre-bound ``run(raw, shape)``: map raw samples into an input of ``shape`` and run it (the mapping
        happens inside the session's lock where there is one)."""
        raise NotImplementedError

    def bind(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        raise NotImplementedError


class TFLiteSession(Session):
    """A TFLite interpreter; subclasses only say where ``Interpreter`` comes from."""

    concurrent = False

    def __init__(self, module: Any, content: bytes, path: Path, num_threads: int | None) -> None:
        self._content = content
        try:
            with quiet_native_output():  # "INFO: Created TensorFlow Lite XNNPACK delegate" on fd 2
                self._interpreter = module.Interpreter(model_content=content, num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ArtifactError(
                f"cannot load {path}: {str(exc).splitlines()[0]}",
                "the file is corrupt or was made by a newer converter",
            ) from exc
        inp = self._interpreter.get_input_details()[0]
        outp = self._interpreter.get_output_details()[0]
        self.input, self.output = _tflite_info(inp), _tflite_info(outp)
        self._in, self._out = inp["index"], outp["index"]
        self._shape = tuple(int(d) for d in inp["shape"])
        self._lock = threading.Lock()
        # bound once: the hot path pays no attribute lookups
        self._set, self._invoke, self._get = (
            self._interpreter.set_tensor,
            self._interpreter.invoke,
            self._interpreter.get_tensor,
        )

    def embedded_metadata(self) -> dict[str, Any] | None:
        return read_tflite_metadata(self._content)

    def _fit(self, shape: tuple[int, ...]) -> None:
        """Resize and reallocate only when the input shape changes (call with the lock held)."""
        if shape != self._shape:
            self._interpreter.resize_tensor_input(self._in, list(shape), strict=False)
            self._interpreter.allocate_tensors()
            self._shape = shape

    def run(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            self._fit(x.shape)
            self._set(self._in, x)
            self._invoke()
            return self._get(self._out)  # get_tensor returns a copy

    def mapped(self, mapper: Mapper) -> MappedRun:
        lock, fit, set_tensor, invoke, get_tensor = self._lock, self._fit, self._set, self._invoke, self._get
        i, o, view = self._in, self._out, self._interpreter.tensor(self._in)

        def run(raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
            with lock:  # the mapper's buffer is shared state too: it is filled under the lock
                if shape != self._shape:
                    fit(shape)
                if mapper.is_big(raw):  # LiteRT's documented zero-copy pattern; no view outlives the fill
                    mapper.fill_into(raw, view())
                else:  # small: making the view (~0.9 us) costs more than set_tensor's copy saves
                    set_tensor(i, mapper(raw))
                invoke()
                return get_tensor(o)  # a copy

        return run

    def bind(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        """set_tensor + invoke + get_tensor on fixed input, pre-bound; no lock: do not share it."""
        with self._lock:
            self._fit(x.shape)
        set_tensor, invoke, get_tensor, i, o = self._set, self._invoke, self._get, self._in, self._out

        def call() -> np.ndarray:
            set_tensor(i, x)
            invoke()
            return get_tensor(o)

        return call


def _tflite_info(detail: dict[str, Any]) -> TensorInfo:
    scale, zero_point = detail["quantization"]
    return TensorInfo(
        name=detail["name"],
        shape=tuple(int(d) for d in detail["shape_signature"]),
        dtype=np.dtype(detail["dtype"]),
        scale=float(scale),
        zero_point=int(zero_point),
    )


class LiteRTSession(TFLiteSession):
    name, module, distributions = "ai_edge_litert", "ai_edge_litert.interpreter", ("ai-edge-litert",)


class TFLiteRuntimeSession(TFLiteSession):
    name, module, distributions = "tflite_runtime", "tflite_runtime.interpreter", ("tflite-runtime",)


class TensorFlowLiteSession(TFLiteSession):
    name, module, distributions = "tensorflow", "tensorflow", ("tensorflow-cpu", "tensorflow")

    @classmethod
    def import_module(cls) -> Any | None:
        if cls.version() is None:  # checked without importing: TensorFlow costs seconds
            return None
        from edgekit.tensorflow_import import import_tensorflow

        return import_tensorflow().lite


class OnnxRuntimeSession(Session):
    """An onnxruntime InferenceSession on the CPU provider; safe to call from several threads."""

    name, module, distributions = "onnxruntime", "onnxruntime", ("onnxruntime",)
    concurrent = True

    def __init__(self, ort: Any, content: bytes, path: Path, num_threads: int | None) -> None:
        options = ort.SessionOptions()
        # On x86-64 without VNNI, onnxruntime's u8s8 int8 kernels (VPMADDUBSW) can saturate and change
        # answers; this asks for its exact, slightly slower path there (ignored elsewhere). Measured on
        # an AVX2-only host: the digits model's onnx-int8 agreement 98.9% -> 99.4%, onnx-dynamic 99.4% -> 100%.
        options.add_session_config_entry("session.x64quantprecision", "1")
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(content, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf classes; all mean "bad file"
            raise ArtifactError(
                f"cannot load {path}: {str(exc).splitlines()[0][:200]}", "the file is corrupt or not an ONNX model"
            ) from exc
        inp, outp = self._session.get_inputs()[0], self._session.get_outputs()[0]
        self.input, self.output = _onnx_info(inp, path), _onnx_info(outp, path)
        self._run, self._outputs = self._session.run, [outp.name]

    def embedded_metadata(self) -> dict[str, Any] | None:
        props = self._session.get_modelmeta().custom_metadata_map
        try:
            return json.loads(props[METADATA_KEY]) if METADATA_KEY in props else None
        except json.JSONDecodeError:
            return None  # a foreign or damaged entry: fall back to the sidecar

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._run(self._outputs, {self.input.name: x})[0]

    def mapped(self, mapper: Mapper) -> MappedRun:
        run, outputs, name = self._run, self._outputs, self.input.name
        return lambda raw, shape: run(outputs, {name: mapper(raw)})[0]

    def bind(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        run, outputs, feed = self._run, self._outputs, {self.input.name: x}
        return lambda: run(outputs, feed)[0]


def _onnx_info(arg: Any, path: Path) -> TensorInfo:
    dtype = ONNX_DTYPES.get(arg.type)
    if dtype is None:
        raise ArtifactError(
            f"{path}: tensor {arg.name!r} has type {arg.type}, which edgekit does not run",
            f"supported: {', '.join(ONNX_DTYPES)}",
        )
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in arg.shape)
    return TensorInfo(name=arg.name, shape=shape, dtype=np.dtype(dtype))  # QDQ models keep float I/O


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
