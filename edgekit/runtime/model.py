"""A loaded artifact: a backend session, the model's contract, and the pixel mapping between them.

    model = load("tflite-int8.tflite")
    prediction = model.predict(images)       # raw samples, see edgekit.runtime.inputs for the rule

Before any interpreter sees the file, it is read within bounds, its graph is read, its hashes are checked and
its metadata validated (``runtime.safety.opening``). The contract comes from the artifact's metadata or from what
the file shows (``runtime.artifact_contract``).
A model exported with a fixed batch size is fed chunks of exactly that size, the last one padded.

uint8 images on a model whose preprocessing is the same for every pixel take a prepared call
(``runtime.runner``; ``model.runner(batch)`` hands one out): one ufunc (preprocessing and input quantization
folded, checked equal to the general path on all 256 values) writing a pre-allocated input buffer, then
the bound interpreter call. Everything else takes the general path: ``contract.model_input`` then quantization.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.contract import Contract, DeclaredContract, Layout, softmax
from edgekit.errors import ArtifactError, UsageError
from edgekit.runtime.artifact_contract import artifact_contract
from edgekit.runtime.backends import TFLITE_BACKENDS, open_session
from edgekit.runtime.inputs import is_scalar_scaling, model_values, unit_pixel_contract
from edgekit.runtime.pictures.pixels import PixelFill, pixel_fill
from edgekit.runtime.prediction import Prediction
from edgekit.runtime.quantization import dequantize, quantize, to_tensor_dtype
from edgekit.runtime.runner import Runner, RunnerPlan, prepare
from edgekit.runtime.safety.admission import admit
from edgekit.runtime.safety.opening import check_threads, open_file

__all__ = ["MAX_CHUNK", "TFLITE_BACKENDS", "Model", "Prediction", "dequantize", "load", "quantize", "softmax"]

MAX_CHUNK = 256  # samples per interpreter call: bounds memory, keeps throughput
MAX_RUNNERS = 8  # prepared calls predict keeps (per thread for onnxruntime), one per batch size


def _check_tensors(session: Any, path: Path) -> None:
    """A classifier takes (batch, sample...) and returns (batch, classes): anything else is one error."""
    inputs, outputs = session.input.shape, session.output.shape
    if len(inputs) < 2:
        raise ArtifactError(
            f"{path}: the input tensor's shape {inputs} has no batch axis and sample axes",
            "a classifier takes (N, H, W), (N, H, W, C), (N, C, H, W) or (N, D)",
        )
    if len(outputs) != 2 or outputs[-1] == 0:
        raise ArtifactError(
            f"{path}: the output tensor's shape {outputs} is not (batch, classes)",
            "a classifier returns one score per class for each sample",
        )


def _check_preprocessing(contract: Contract, path: Path) -> None:
    """The contract's preprocessing must keep the raw range's ends finite in float32 (metadata without a seal
    can carry a scale of 1e300; every image would then be inf, and every answer the same)."""
    for value in contract.input_range:
        x = contract.model_input(np.full((1, *contract.raw_shape), value, dtype=np.float32))
        if not np.isfinite(x).all():
            raise ArtifactError(
                f"{path}: its preprocessing ({contract.preprocessing.describe()}) turns the raw value {value:g} "
                "into inf or NaN",
                "the contract is damaged or was edited; declare the right one with --scale/--mean/--std",
            )


class Model:
    """A loaded artifact. Thread-safe: TFLite calls on the shared interpreter are serialised by a lock (the
    interpreter is not re-entrant); batch-1 predict calls run on an interpreter of each thread's own;
    onnxruntime sessions run concurrently."""

    def __init__(
        self,
        path: Path,
        backend: str | None = None,
        num_threads: int | None = None,
        declared: DeclaredContract | None = None,
        verify: bool = True,
    ) -> None:
        self.path = Path(path)
        check_threads(num_threads)
        opened = open_file(self.path, backend, verify)  # bounded, identified, hashed, metadata validated
        self.format, self.graph, self.integrity = opened.format, opened.graph, opened.integrity
        self.metadata, self.metadata_source = opened.metadata, opened.metadata_source
        self.notes: tuple[str, ...] = opened.notes  # what was noticed and set aside (a damaged sidecar)
        self.num_threads = num_threads
        admit(self.format, opened.content, self.path, backend=backend, num_threads=num_threads, sha256=opened.sha256)
        self.session = open_session(self.format, opened.content, self.path, backend, num_threads)
        _check_tensors(self.session, self.path)
        self.backend, self.backend_version = self.session.name, self.session.version()
        self.contract, self.contract_source = artifact_contract(
            self.session, self.metadata, self.metadata_source, self.graph, declared or DeclaredContract()
        )
        recorded_mode = self.metadata.get("mode")
        self.mode: str | None = (
            recorded_mode if isinstance(recorded_mode, str) else (self.graph.quantization if self.graph else None)
        )  # edgekit's record, else what the graph's tensors say
        self.fixed_batch = self.session.input.fixed_batch
        _check_preprocessing(self.contract, self.path)
        self._item_shape = self._tensor_item_shape()
        self._unit_contract = unit_pixel_contract(self.contract)
        self._samples = {self.contract.raw_shape, self.contract.model_shape}  # one sample, as the fast path takes it
        self._one = self._samples if self.fixed_batch in (None, 1) else set()
        self._chunk = self.fixed_batch or MAX_CHUNK
        self._prediction_args = (self.output_quant, self.contract.class_names, self.contract.output_kind)
        self._plan = RunnerPlan(
            self.session,
            self._pixel_fill(),
            self._item_shape,
            tuple(self._samples),
            lambda n: n == self.fixed_batch or (self.fixed_batch is None and 0 < n <= MAX_CHUNK),
            Prediction.of_model(*self._prediction_args),
            self._predict_general,
        )
        # predict's prepared calls: per thread (self._runners), TFLite's batches above 1 shared (_make_runner)
        self._shared_runners: dict[int, Runner] = {}
        self._thread_runners = threading.local()

    # ---------------------------------------------------------------------------------- facts
    input_name = property(lambda self: self.session.input.name)
    output_name = property(lambda self: self.session.output.name)
    input_dtype = property(lambda self: self.session.input.dtype)
    output_dtype = property(lambda self: self.session.output.dtype)
    input_shape = property(lambda self: self.session.input.shape)
    input_quant = property(lambda self: self.session.input.quant)
    output_quant = property(lambda self: self.session.output.quant)
    class_names = property(lambda self: self.contract.class_names)

    def _tensor_item_shape(self) -> tuple[int, ...]:
        """One sample as the interpreter takes it; the contract's shape must hold as many values."""
        item = tuple(self.session.input.shape[1:])
        if any(d < 1 for d in item):
            return self.contract.input_shape
        if int(np.prod(item)) != int(np.prod(self.contract.input_shape)):
            raise ArtifactError(
                f"{self.path}: the contract's input shape {self.contract.input_shape} does not "
                f"fit the model's input tensor {self.session.input.shape}"
            )
        classes = self.session.output.shape[-1] if self.session.output.shape else -1
        if classes > 0 and classes != self.contract.num_classes:
            raise ArtifactError(
                f"{self.path}: the contract names {self.contract.num_classes} classes, the model outputs {classes}"
            )
        return item

    # --------------------------------------------------------------------------- the fast path
    def _pixel_fill(self) -> PixelFill | None:
        """uint8 pixels -> interpreter input in one ufunc, or None when preprocessing varies per pixel."""
        contract, pre = self.contract, self.contract.preprocessing
        if (
            not contract.is_8bit_image
            or not is_scalar_scaling(pre)
            or (contract.channels == 3 and contract.layout is Layout.CHANNELS_FIRST)
        ):
            return None
        table = to_tensor_dtype(pre.apply(np.arange(256, dtype=np.uint8)), self.input_dtype, self.input_quant)
        return pixel_fill(table, pre)

    def runner(self, batch: int = 1) -> Runner:
        """A prepared call for batches of ``batch`` uint8 samples (``runtime.runner``): ``run(images)`` answers
        exactly what ``predict(images)`` does, with the per-call work done once. One thread per runner."""
        return prepare(self._plan, batch, own=True)

    def _runners(self) -> dict[int, Runner]:
        """This thread's prepared calls, by batch size."""
        runners: dict[int, Runner] | None = getattr(self._thread_runners, "runners", None)
        if runners is None:
            runners = self._thread_runners.runners = {}
        return runners

    def _make_runner(self, n: int) -> Runner:
        """predict's prepared call for batches of n. onnxruntime runs concurrently: each thread has its own.
        TFLite at batch 1 (a camera loop's call) gets an interpreter of this thread's own, no lock (1.56x the
        raw call -> about the runner's 1.07x on the dense int8 model); other sizes share one interpreter per
        size under the session's lock (one arena per size, not per thread and size)."""
        if self.session.concurrent or n == 1:
            return prepare(self._plan, n, own=True)
        shared = self._shared_runners
        run = shared.get(n)
        if run is None:
            if len(shared) >= MAX_RUNNERS:
                shared.clear()
            run = shared[n] = prepare(self._plan, n)
        return run

    # ---------------------------------------------------------------------------------- public
    def predict(self, raw: Any) -> Prediction:
        """Predict one sample or a batch of raw samples (see edgekit.runtime.inputs for the rule)."""
        if self._plan.pixels is not None and type(raw) is np.ndarray:
            shape = raw.shape
            n = 1 if shape in self._one else (shape[0] if shape[1:] in self._samples else 0)
            if n:
                runners = self._runners()
                run = runners.get(n)
                if run is None:
                    if len(runners) >= MAX_RUNNERS:
                        runners.clear()
                    run = runners[n] = self._make_runner(n)
                return run(raw)
        return self._predict_general(raw)

    def _predict_general(self, raw: Any) -> Prediction:
        return self.run_model_inputs(model_values(self.contract, raw, self._unit_contract))

    def run_model_inputs(self, x: np.ndarray) -> Prediction:
        """Float32 model-space inputs (N, *input_shape), exactly what Keras is fed -> Prediction, in chunks."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 0 or len(x) == 0 or x[0].size != math.prod(self._item_shape):
            raise UsageError(
                f"model inputs have shape {x.shape}; this model takes (N, "
                f"{', '.join(map(str, self.contract.input_shape))})"
            )
        size, n = self._chunk, len(x)
        if self.fixed_batch is not None and n % size:  # a fixed-batch model: pad the last chunk, drop the padding
            x = np.concatenate([x, np.zeros((size - n % size, *x.shape[1:]), dtype=x.dtype)])
        raws = [self.session.run(self._to_tensor(x[i : i + size])) for i in range(0, len(x), size)]
        raw = raws[0] if len(raws) == 1 else np.concatenate(raws)
        return Prediction(raw[:n] if len(raw) != n else raw, *self._prediction_args)

    def _to_tensor(self, x: np.ndarray) -> np.ndarray:
        return to_tensor_dtype(x, self.input_dtype, self.input_quant).reshape((len(x), *self._item_shape))

    def prepare_input(self, raw: Any) -> np.ndarray:
        """Raw samples -> exactly the array the interpreter takes (dtype, quantization, shape); see run_raw."""
        return self._to_tensor(model_values(self.contract, raw, self._unit_contract))

    def bound_call(self, model_input: np.ndarray) -> Any:
        """A zero-argument interpreter call on fixed input, pre-bound, for timing (not thread-safe)."""
        return self.session.bind(model_input)

    def run_raw(self, model_input: np.ndarray) -> np.ndarray:
        """One interpreter call on an input already in the model's dtype and shape (for benchmarks)."""
        return self.session.run(model_input)

    def logits(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model-space float inputs -> (float logits, raw outputs); prefer run_model_inputs."""
        prediction = self.run_model_inputs(images)
        return prediction.logits, prediction.raw

    def describe(self) -> dict[str, Any]:
        """What was loaded and how it will be run."""

        def tensor(t: Any) -> dict[str, Any]:
            return {
                "name": t.name,
                "dtype": str(t.dtype),
                "shape": list(t.shape),
                "scale": t.scale,
                "zero_point": t.zero_point,
            }

        return {
            "path": str(self.path),
            "format": self.format.value,
            "mode": self.mode,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "threads": self.num_threads,
            "fixed_batch": self.fixed_batch,
            "input": tensor(self.session.input),
            "output": tensor(self.session.output),
            "metadata_source": self.metadata_source,
            "integrity": self.integrity.how,
            "contract": {
                **self.contract.to_dict(),
                "source": self.contract_source,
                "summary": self.contract.describe(),
            },
        }


def load(
    path: Path | str,
    backend: str | None = None,
    num_threads: int | None = None,
    declared: DeclaredContract | None = None,
    verify: bool = True,
) -> Model:
    """Load a .tflite or .onnx artifact with the best installed backend (or the one named); ``declared``
    (``--scale``, ``--outputs``, ... as :func:`edgekit.contract.declare` reads them) fills in what the
    artifact does not record; ``verify=False`` skips the sha256 checks (``runtime.safety.integrity``)."""
    return Model(Path(path), backend=backend, num_threads=num_threads, declared=declared, verify=verify)
