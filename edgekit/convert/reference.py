"""The model being converted: a Keras file (.keras, legacy .h5), a SavedModel folder or a run folder.

Loading it answers what the contract needs from the model itself: the input shape, whether the
model normalises its own input (Rescaling / Normalization layers), and whether its outputs are
probabilities (a final softmax, confirmed on real inputs). Keras ``safe_mode`` stays on.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.contract import Contract, OutputKind, Preprocessing, looks_like_probabilities
from edgekit.errors import ModelError
from edgekit.files import sha256_file
from edgekit.layout import RunLayout
from edgekit.manifests import RunManifest, read_run_manifest, run_manifest_damage

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
NORMALISING_LAYERS = ("Rescaling", "Normalization")
PREDICT_BATCH = 256


@dataclass(frozen=True)
class ModelFacts:
    """What the model itself shows about its contract."""

    input_shape: tuple[int, ...]
    num_outputs: int
    final_softmax: bool  # the last layer is (or ends in) a softmax
    normalises_input: str | None  # name of a Rescaling/Normalization layer, when the model has one


@dataclass(frozen=True)
class Reference:
    """The model every artifact is compared with, and what is known about it."""

    path: Path
    kind: str  # "keras", "h5" or "saved_model"
    sha256: str
    facts: ModelFacts
    run: RunManifest | None  # the training run's manifest, for models edgekit trained
    model: Any  # a keras.Model, or the SavedModel's serving signature (a concrete function)
    signature_io: tuple[str, str] | None = None  # SavedModel: (input name, output name)

    @property
    def keras_model(self) -> Any | None:
        return None if self.kind == "saved_model" else self.model

    @property
    def layout(self) -> RunLayout | None:
        return RunLayout(self.path.parent) if self.run is not None else None

    def outputs(self, model_inputs: np.ndarray) -> np.ndarray:
        """The model's outputs (N, K) for float32 inputs already through the contract."""
        if self.kind != "saved_model":
            return np.asarray(self.model.predict(model_inputs, batch_size=PREDICT_BATCH, verbose=0))
        import tensorflow as tf

        name_in, name_out = self.signature_io  # type: ignore[misc]
        chunks = [
            self.model(**{name_in: tf.constant(model_inputs[i : i + PREDICT_BATCH])})[name_out].numpy()
            for i in range(0, len(model_inputs), PREDICT_BATCH)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.facts.num_outputs), np.float32)

    def tf_function(self) -> tuple[Any, tuple[Any, ...]]:
        """A tf.function of the inference pass and its input signature (for tf2onnx)."""
        import tensorflow as tf

        spec = (tf.TensorSpec((None, *self.facts.input_shape), tf.float32, name="input"),)
        if self.kind == "saved_model":
            name_in, name_out = self.signature_io  # type: ignore[misc]
            signature = self.model
            return tf.function(lambda x: signature(**{name_in: x})[name_out], input_signature=spec), spec
        model = self.model
        return tf.function(lambda x: model(x, training=False), input_signature=spec), spec

    def infer_output_kind(self, model_inputs: np.ndarray) -> tuple[OutputKind, str]:
        """Logits or probabilities, from the last layer and confirmed on real inputs."""
        probe = self.outputs(model_inputs[:32])
        numeric = looks_like_probabilities(probe)
        if self.facts.final_softmax and numeric:
            return OutputKind.PROBABILITIES, "inferred: final softmax"
        if numeric:
            return OutputKind.PROBABILITIES, "inferred: outputs are non-negative and sum to 1"
        return OutputKind.LOGITS, "inferred: outputs are not probabilities"

    def inferred_preprocessing(self) -> tuple[Preprocessing, str] | None:
        """Identity when the model normalises its own input; None when the model does not say."""
        if self.facts.normalises_input:
            return (
                Preprocessing.identity(),
                f"inferred: the model's {self.facts.normalises_input} layer normalises raw values itself",
            )
        return None

    def recorded_contract(self) -> Contract | None:
        """The contract the training run recorded, for models edgekit trained."""
        return self.run.contract if self.run is not None else None


def _finished_run(layout: RunLayout) -> RunManifest | None:
    """The run's manifest; None for a folder edgekit did not train; a damaged one is an error.

    A damaged manifest.json means an unfinished training run: converting its model with a guessed
    contract could silently give wrong answers, so the step to redo (training) is named instead.
    """
    damage = run_manifest_damage(layout)
    if damage is not None:
        raise ModelError(
            f"{damage}: {layout.root} holds no finished training run",
            f"train it again (`edgekit train --overwrite --out {layout.root}`, or `edgekit run`, which redoes it)",
        )
    return read_run_manifest(layout)


def load_reference(source: Path) -> Reference:
    """A run folder, a .keras / .h5 file or a SavedModel folder -> the Reference (TensorFlow is imported)."""
    source = Path(source)
    if not source.exists():
        raise ModelError(
            f"{source} does not exist",
            "pass a run folder from `edgekit train`, a .keras or .h5 file, or a SavedModel folder",
        )
    if source.is_dir():
        layout = RunLayout(source)
        if layout.model_path.is_file():
            return _load_keras(layout.model_path, "keras", _finished_run(layout))
        if any((source / f).is_file() for f in SAVED_MODEL_FILES):
            return _load_saved_model(source)
        raise ModelError(
            f"{source} is neither a run folder (no model.keras) nor a SavedModel (no saved_model.pb)",
            "pass a run folder from `edgekit train`, a .keras or .h5 file, or a SavedModel folder",
        )
    with open(source, "rb") as fh:
        head = fh.read(8)
    if head.startswith(HDF5_SIGNATURE):
        return _load_keras(source, "h5", None)
    if head.startswith(ZIP_SIGNATURE):
        beside = RunLayout(source.parent)
        run = _finished_run(beside) if source.name == beside.model_path.name else None
        return _load_keras(source, "keras", run)
    raise ModelError(
        f"{source} is not a Keras model (.keras zip or legacy .h5) nor a SavedModel folder",
        "edgekit converts .keras, .h5 and SavedModel models",
    )


def _load_keras(path: Path, kind: str, run: RunManifest | None) -> Reference:
    from edgekit.tensorflow_import import import_tensorflow

    import_tensorflow()
    import keras

    suffix = ".h5" if kind == "h5" else ".keras"
    try:
        with _with_suffix(path, suffix) as readable:  # Keras picks its loader by suffix
            model = keras.saving.load_model(readable, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError, OSError, TypeError, zipfile errors...: "not loadable"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        hint = (
            (
                "old TF1-era .h5 files may not load in Keras 3: load it with the TensorFlow/Keras that made it and "
                "re-save with model.save('model.keras')"
            )
            if kind == "h5"
            else None
        )
        raise ModelError(f"{path} is not a loadable Keras model: {first}", hint) from exc
    facts = _keras_facts(model, path)
    return Reference(path=path, kind=kind, sha256=sha256_file(path), facts=facts, run=run, model=model)


def _keras_facts(model: Any, path: Path) -> ModelFacts:
    inputs, outputs = list(model.inputs), list(model.outputs)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{path} has {len(inputs)} inputs and {len(outputs)} outputs; edgekit converts "
            "single-input, single-output classifiers"
        )
    shape = tuple(inputs[0].shape[1:])
    out_shape = tuple(outputs[0].shape[1:])
    _check_shapes(path, shape, out_shape)
    last = model.layers[-1] if model.layers else None
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    final_softmax = type(last).__name__ == "Softmax" or activation == "softmax"
    normaliser = next((layer.name for layer in model.layers[:3] if type(layer).__name__ in NORMALISING_LAYERS), None)
    return ModelFacts(tuple(int(d) for d in shape), int(out_shape[0]), final_softmax, normaliser)


def _check_shapes(path: Path, shape: tuple[Any, ...], out_shape: tuple[Any, ...]) -> None:
    if any(d is None for d in shape):
        raise ModelError(
            f"{path} takes input of shape {shape} with an unknown size",
            "edgekit needs a fixed input size, e.g. (28, 28), (28, 28, 1) or (32, 32, 3)",
        )
    if not 1 <= len(shape) <= 3 or (len(shape) == 3 and shape[-1] not in (1, 3)):
        raise ModelError(
            f"{path} takes input of shape {shape}; edgekit handles (H, W), (H, W, 1), (H, W, 3) "
            "images and (D,) feature vectors"
        )
    if len(out_shape) != 1 or out_shape[0] is None:
        raise ModelError(f"{path} returns output of shape {out_shape}; a classifier returns one score per class")


def _load_saved_model(folder: Path) -> Reference:
    from edgekit.native_output import quiet_native_output
    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    try:
        with quiet_native_output():
            loaded = tf.saved_model.load(str(folder))
    except Exception as exc:  # TensorFlow raises OSError, ValueError, its own errors: "not loadable"
        raise ModelError(f"{folder} is not a loadable SavedModel: {str(exc).splitlines()[0][:200]}") from exc
    signature = loaded.signatures.get("serving_default") if hasattr(loaded, "signatures") else None
    if signature is None:
        raise ModelError(f"{folder} has no serving_default signature", "export it with model.export(folder)")
    inputs = signature.structured_input_signature[1]
    outputs = signature.structured_outputs
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{folder} has {len(inputs)} inputs and {len(outputs)} outputs; edgekit converts "
            "single-input, single-output classifiers"
        )
    (name_in, spec_in), (name_out, spec_out) = next(iter(inputs.items())), next(iter(outputs.items()))
    shape, out_shape = tuple(spec_in.shape[1:]), tuple(spec_out.shape[1:])
    _check_shapes(folder, shape, out_shape)
    facts = ModelFacts(tuple(int(d) for d in shape), int(out_shape[0]), False, None)
    loaded._edgekit_keepalive = signature  # the signature holds a weak reference to its variables
    return Reference(
        path=folder,
        kind="saved_model",
        sha256=_folder_sha256(folder),
        facts=facts,
        run=None,
        model=_KeepAlive(signature, loaded),
        signature_io=(name_in, name_out),
    )


class _KeepAlive:
    """A serving signature that keeps its SavedModel object (and so its variables) alive."""

    def __init__(self, signature: Any, owner: Any) -> None:
        self._signature, self._owner = signature, owner

    def __call__(self, **kwargs: Any) -> Any:
        return self._signature(**kwargs)


def _folder_sha256(folder: Path) -> str:
    """One hash over every file of a folder (relative names and contents), in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + sha256_file(path).encode())
    return digest.hexdigest()


class _with_suffix:
    """The path itself when its suffix is right, else a temporary copy with the right suffix."""

    def __init__(self, path: Path, suffix: str) -> None:
        self.path, self.suffix = path, suffix
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if self.path.suffix.lower() == self.suffix or (self.suffix == ".h5" and self.path.suffix.lower() == ".hdf5"):
            return self.path
        self._tmp = tempfile.TemporaryDirectory(prefix="edgekit-model-")
        copy = Path(self._tmp.name) / f"model{self.suffix}"
        shutil.copyfile(self.path, copy)
        return copy

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
