"""TFLite interpreters behind the Session interface: LiteRT, tflite-runtime, or TensorFlow's own.

TFLite interpreters are not re-entrant: their calls are serialised by a lock. A model exported with a
fixed batch size is never resized: ``Model`` feeds it chunks of exactly that size.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ArtifactError
from edgekit.native_output import quiet_native_output
from edgekit.runtime.session import UINT8, Prepared, Session, run_failed, single
from edgekit.runtime.tensors import tflite_info
from edgekit.runtime.tflite.graph import custom_op_runner

_WRAPPER = ("Invoke", "GetTensor")  # the C++ wrapper's calls a prepared call of its own uses
_UNRESOLVED = re.compile(r"unresolved custom op: ([\w.\-]+)", re.IGNORECASE)


def load_failed(path: Path, exc: BaseException) -> ArtifactError:
    """Why an interpreter refused a file, in words that say what would run it."""
    text = str(exc).strip()
    custom = _UNRESOLVED.search(text)
    if custom:
        op = custom.group(1).rstrip(".")
        runner = custom_op_runner(op)
        if runner is not None:
            return ArtifactError(f"{path} needs the custom op {op}, which only {runner[0]} runs", runner[1])
        return ArtifactError(
            f"{path} needs the custom op {op}, which this interpreter does not have",
            "custom ops must be registered by the program that made them; re-export with builtin ops only",
        )
    return ArtifactError(
        f"cannot load {path}: {(text.splitlines() or [type(exc).__name__])[0][:300]}",
        "the file is corrupt or was made by a newer converter",
    )


class TFLiteSession(Session):
    """A TFLite interpreter; subclasses only say where ``Interpreter`` comes from."""

    concurrent = False

    def __init__(self, module: Any, content: bytes, path: Path, num_threads: int | None) -> None:
        self._content, self.path = content, path  # the interpreter reads the bytes in place: keep them
        self._module, self._num_threads = module, num_threads  # for a prepared call's own interpreter
        try:
            with quiet_native_output():  # "INFO: Created TensorFlow Lite XNNPACK delegate" on fd 2
                self._interpreter = module.Interpreter(model_content=content, num_threads=num_threads)
                self._interpreter.allocate_tensors()
            inp = single(self._interpreter.get_input_details(), "input", path)
            outp = single(self._interpreter.get_output_details(), "output", path)
        except (ValueError, RuntimeError) as exc:  # UnicodeDecodeError (a tensor name) is a ValueError
            raise load_failed(path, exc) from exc
        self.input, self.output = tflite_info(inp), tflite_info(outp)
        self._in, self._out = inp["index"], outp["index"]
        self._shape = tuple(int(d) for d in inp["shape"])
        self._lock = threading.Lock()
        # bound once: the hot path pays no attribute lookups
        self._set, self._invoke, self._get = (
            self._interpreter.set_tensor,
            self._interpreter.invoke,
            self._interpreter.get_tensor,
        )

    def _fit(self, shape: tuple[int, ...]) -> None:
        """Resize and reallocate only when the input shape changes (call with the lock held)."""
        if shape != self._shape:
            self._interpreter.resize_tensor_input(self._in, list(shape), strict=False)
            self._interpreter.allocate_tensors()
            self._shape = shape

    def run(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            try:
                self._fit(x.shape)
                self._set(self._in, x)
                self._invoke()
            except (RuntimeError, ValueError) as exc:
                raise run_failed(self.path, self.name, exc) from exc
            return self._get(self._out)  # get_tensor returns a copy

    def prepared(self, prepared: Prepared) -> Callable[[Any], Any]:
        if prepared.own:  # an interpreter of its own, sized once and never resized: no lock, no checks per call
            own = type(self)(self._module, self._content, self.path, self._num_threads)
            own._fit(tuple(prepared.buffer.shape))
            return own._prepared_own(prepared)
        if prepared.in_place is not None:
            return self._prepared_in_place(prepared, prepared.in_place)
        lock, fit, set_tensor, invoke, get_tensor = self._lock, self._fit, self._set, self._invoke, self._get
        buffer, steps, result, fallback, ndarray = *_parts(prepared), np.ndarray
        i, o, shape, path, name = self._in, self._out, tuple(buffer.shape), self.path, self.name

        def run(raw: Any) -> Any:  # written flat: at batch 1 every lookup here is ~1% of a dense int8 call
            step = steps.get(raw.shape) if type(raw) is ndarray and (raw.dtype is UINT8 or raw.dtype == UINT8) else None
            if step is None:
                return fallback(raw)
            ufunc, operand, out = step
            with lock:  # the buffer is shared state too: it is filled under the lock
                try:
                    if self._shape != shape:
                        fit(shape)
                    ufunc(raw, operand, out)
                    set_tensor(i, buffer)
                    invoke()
                except (RuntimeError, ValueError) as exc:
                    raise run_failed(path, name, exc) from exc
                return result(get_tensor(o))  # get_tensor returns a copy

        return run

    def _tensor_view(self) -> np.ndarray | None:
        """The input tensor as an array that stays valid while nothing resizes this interpreter, or None.

        The first invoke applies the default delegate (XNNPACK), which moves every tensor: a view taken before
        it points at freed memory (measured: heap corruption within 100 calls). So: invoke once, take the
        view, invoke again and check the tensor did not move."""
        if not all(callable(getattr(getattr(self._interpreter, "_interpreter", None), n, None)) for n in _WRAPPER):
            return None  # an interpreter without the C++ wrapper every TFLite Python API has had so far
        try:
            self._set(self._in, np.zeros(self._shape, self.input.dtype))
            self._invoke()  # public: it refuses while anything (even a local name) holds the wrapper
            view: np.ndarray = self._interpreter.tensor(self._in)()
            self._interpreter._interpreter.Invoke()
            moved = self._interpreter.tensor(self._in)().__array_interface__["data"] != view.__array_interface__["data"]
        except (RuntimeError, ValueError):
            return None  # the first real call will say what is wrong, in the copying path's words
        return None if moved else view

    def _prepared_own(self, prepared: Prepared) -> Callable[[Any], Any]:
        """The call on an interpreter nothing else uses, already at the buffer's shape: the pixel ufunc writes
        the input tensor itself (a view held for the runner's life, which saves set_tensor's copy) and the
        interpreter is invoked through its C++ wrapper, as ``Interpreter.invoke`` does after a reference check
        that a held view would fail. Nothing resizes this interpreter, so the view stays valid."""
        tensor = self._tensor_view()
        if tensor is None:
            return self._prepared_copy(prepared)
        wrapper = self._interpreter._interpreter
        invoke, get_tensor, o, name = wrapper.Invoke, wrapper.GetTensor, self._out, self.name
        steps, result, fallback, ndarray = prepared.steps_for(tensor), prepared.result, prepared.fallback, np.ndarray

        def run(raw: Any) -> Any:
            step = steps.get(raw.shape) if type(raw) is ndarray and (raw.dtype is UINT8 or raw.dtype == UINT8) else None
            if step is None:
                return fallback(raw)
            ufunc, operand, out = step
            try:
                ufunc(raw, operand, out)
                invoke()
            except (RuntimeError, ValueError) as exc:
                raise run_failed(self.path, name, exc) from exc  # self: the interpreter lives as long as the view
            return result(get_tensor(o, 0))  # a copy

        return run

    def _prepared_copy(self, prepared: Prepared) -> Callable[[Any], Any]:
        """The own call where the input tensor cannot be held: fill the buffer, set_tensor, invoke."""
        set_tensor, invoke, get_tensor, i, o, path, name = (
            self._set,
            self._invoke,
            self._get,
            self._in,
            self._out,
            self.path,
            self.name,
        )
        buffer, steps, result, fallback, ndarray = *_parts(prepared), np.ndarray

        def run(raw: Any) -> Any:
            step = steps.get(raw.shape) if type(raw) is ndarray and (raw.dtype is UINT8 or raw.dtype == UINT8) else None
            if step is None:
                return fallback(raw)
            ufunc, operand, out = step
            try:
                ufunc(raw, operand, out)
                set_tensor(i, buffer)
                invoke()
            except (RuntimeError, ValueError) as exc:
                raise run_failed(path, name, exc) from exc
            return result(get_tensor(o))

        return run

    def _prepared_in_place(
        self, prepared: Prepared, in_place: Callable[[np.ndarray, np.ndarray], object]
    ) -> Callable[[Any], Any]:
        """Big batches: LiteRT's documented zero-copy pattern (the fill writes the input tensor; no view
        outlives it), which saves set_tensor's copy."""
        lock, fit, invoke, get_tensor, view = (
            self._lock,
            self._fit,
            self._invoke,
            self._get,
            self._interpreter.tensor(self._in),
        )
        buffer, steps, result, fallback, ndarray = *_parts(prepared), np.ndarray
        o, shape, path, name = self._out, tuple(buffer.shape), self.path, self.name

        def run(raw: Any) -> Any:
            if type(raw) is not ndarray or not (raw.dtype is UINT8 or raw.dtype == UINT8) or raw.shape not in steps:
                return fallback(raw)
            with lock:
                try:
                    if self._shape != shape:
                        fit(shape)
                    in_place(raw, view())
                    invoke()
                except (RuntimeError, ValueError) as exc:
                    raise run_failed(path, name, exc) from exc
                return result(get_tensor(o))

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


def _parts(prepared: Prepared) -> tuple[np.ndarray, dict[tuple[int, ...], Any], Callable[..., Any], Callable[..., Any]]:
    return prepared.buffer, prepared.steps, prepared.result, prepared.fallback


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
