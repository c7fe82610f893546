"""onnxruntime behind the Session interface: the CPU provider, safe to call from several threads.

The model is loaded from its path, so that weights stored beside it (``model.onnx.data``, external data)
resolve; onnxruntime's own prints (its "EP Error ... Falling back" lines go to stdout) are kept off the
user's stdout, where they would break ``--json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ArtifactError
from edgekit.native_output import quiet_native_output
from edgekit.runtime.session import UINT8, Prepared, Session, run_failed, single
from edgekit.runtime.tensors import onnx_info

CPU = "CPUExecutionProvider"
_MISSING_DATA = re.compile(r'External data path does not exist: "?([^"\n]+)"?')
# On x86-64 without VNNI, onnxruntime's u8s8 int8 kernels (VPMADDUBSW) can saturate and change answers;
# x64quantprecision asks for its exact, slightly slower path there (ignored elsewhere). Measured on an
# AVX2-only host: the digits model's onnx-int8 agreement 98.9% -> 99.4%, onnx-dynamic 99.4% -> 100%.
SESSION_CONFIG = (("session.x64quantprecision", "1"),)
_INITIALIZATION = "Exception during initialization"


def load_failed(path: Path, exc: BaseException) -> ArtifactError:
    """Why onnxruntime refused a file, with the external data file named when that is what is missing."""
    text = str(exc).strip()
    missing = _MISSING_DATA.search(text)
    if missing:
        return ArtifactError(
            f"{path} keeps its weights in an external data file, {Path(missing.group(1)).name}, which is missing",
            "copy the .data file(s) saved with the model into the same folder as the .onnx",
        )
    if _INITIALIZATION in text:  # parsed and checked, then refused while onnxruntime prepared the graph
        return ArtifactError(
            f"onnxruntime cannot initialise {path}: {text.splitlines()[0][-300:]}",
            "the file is a readable ONNX model; onnxruntime rejects its graph (an op or an optimisation of it)",
        )
    return ArtifactError(
        f"cannot load {path}: {(text.splitlines() or [type(exc).__name__])[0][:300]}",
        "the file is corrupt or not an ONNX model",
    )


def session_options(ort: Any) -> Any:
    """The SessionOptions edgekit opens every ONNX model with (convert's own-output check uses them too)."""
    options = ort.SessionOptions()
    for key, value in SESSION_CONFIG:
        options.add_session_config_entry(key, value)
    return options


class OnnxRuntimeSession(Session):
    """An onnxruntime InferenceSession on the CPU provider; safe to call from several threads."""

    name, module, distributions = "onnxruntime", "onnxruntime", ("onnxruntime",)
    concurrent = True

    def __init__(self, ort: Any, content: bytes, path: Path, num_threads: int | None) -> None:
        self.path = path
        options = session_options(ort)
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        try:
            with quiet_native_output():
                self._session = ort.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
        except Exception as exc:  # only onnxruntime runs here: its Fail/InvalidProtobuf/... classes all mean "bad file"
            raise load_failed(path, exc) from exc
        inp = single(self._session.get_inputs(), "input", path)
        outp = single(self._session.get_outputs(), "output", path)
        self.input, self.output = onnx_info(inp, path), onnx_info(outp, path)
        self._run, self._outputs = self._session.run, [outp.name]
        state = ort.capi.onnxruntime_pybind11_state
        names = ("Fail", "InvalidArgument", "RuntimeException", "EPFail")
        self._failures = (RuntimeError, ValueError, *(getattr(state, n) for n in names if hasattr(state, n)))

    def run(self, x: np.ndarray) -> np.ndarray:
        try:
            return self._run(self._outputs, {self.input.name: x})[0]
        except self._failures as exc:
            raise run_failed(self.path, self.name, exc) from exc

    def prepared(self, prepared: Prepared) -> Callable[[Any], Any]:
        """onnxruntime reads the buffer in place (``in_place`` is not needed) and writes a buffer of ours: both
        are bound once (IOBinding), which saves session.run's feed checks and output allocation (batch 1:
        0.89x of session.run on the dense model). The buffers are the caller's: one prepared call per thread."""
        steps, result, fallback, ndarray = prepared.steps, prepared.result, prepared.fallback, np.ndarray
        bound = self._bound(prepared.buffer)
        if bound is None:
            return self._prepared_run(prepared)
        run_bound, binding, output, failures, path = self._session.run_with_iobinding, *bound, self._failures, self.path

        def call(raw: Any) -> Any:
            step = steps.get(raw.shape) if type(raw) is ndarray and (raw.dtype is UINT8 or raw.dtype == UINT8) else None
            if step is None:
                return fallback(raw)
            ufunc, operand, out = step
            ufunc(raw, operand, out)
            try:
                run_bound(binding)
            except failures as exc:
                raise run_failed(path, "onnxruntime", exc) from exc
            return result(output.copy())  # the output buffer is written again by the next call

        return call

    def _bound(self, buffer: np.ndarray) -> tuple[Any, np.ndarray] | None:
        """An IOBinding of ``buffer`` in and a (batch, classes) buffer out, tried once; None where the output
        shape is not known or onnxruntime refuses the binding (then session.run does the work)."""
        shape = (len(buffer), *self.output.shape[1:])
        if len(shape) != 2 or shape[1] < 1:
            return None
        output = np.empty(shape, dtype=self.output.dtype)
        try:
            binding = self._session.io_binding()
            binding.bind_input(self.input.name, "cpu", 0, buffer.dtype, list(buffer.shape), buffer.ctypes.data)
            binding.bind_output(self.output.name, "cpu", 0, output.dtype, list(shape), output.ctypes.data)
            buffer.fill(0)
            self._session.run_with_iobinding(binding)
        except self._failures:
            return None
        return binding, output

    def _prepared_run(self, prepared: Prepared) -> Callable[[Any], Any]:
        """The prepared call through session.run, for outputs a buffer cannot be bound to."""
        run, outputs, failures, path = self._run, self._outputs, self._failures, self.path
        steps, result, fallback, ndarray = prepared.steps, prepared.result, prepared.fallback, np.ndarray
        feed = {self.input.name: prepared.buffer}

        def call(raw: Any) -> Any:
            step = steps.get(raw.shape) if type(raw) is ndarray and (raw.dtype is UINT8 or raw.dtype == UINT8) else None
            if step is None:
                return fallback(raw)
            ufunc, operand, out = step
            ufunc(raw, operand, out)
            try:
                return result(run(outputs, feed)[0])
            except failures as exc:
                raise run_failed(path, "onnxruntime", exc) from exc

        return call

    def bind(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        run, outputs, feed = self._run, self._outputs, {self.input.name: x}
        return lambda: run(outputs, feed)[0]
