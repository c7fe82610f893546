"""The measuring steps of `edgekit bench`: load the reference and the images, then time and evaluate
the Keras reference and each artifact on them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.config import BenchConfig
from edgekit.benchmarks.drift import per_class_accuracy
from edgekit.benchmarks.latency import TimingPolicy, summarize, time_calls
from edgekit.benchmarks.results import ArtifactResult, DatasetInfo, ReferenceResult
from edgekit.contract import Contract, DeclaredContract
from edgekit.convert.inputs import DataSources
from edgekit.progress import Reporter

KERAS_POLICY = TimingPolicy(warmup_runs=3, min_runs=20, min_seconds=0.3, max_seconds=3.0)


@dataclass(frozen=True)
class Loaded:
    """The Keras reference and the images to measure on, before anything is timed."""

    run_dir: Path
    reference: Any  # a convert.reference.Reference: .model, .path, .run, .outputs()
    load_ms: float
    contract: Contract
    dataset: DatasetInfo
    images: np.ndarray  # raw, as a user would pass them to Model.predict
    labels: np.ndarray


@dataclass(frozen=True)
class EvaluationSet:
    """The images, their labels and the reference's outputs: what every artifact is compared with."""

    images: np.ndarray
    labels: np.ndarray
    contract: Contract
    reference_outputs: np.ndarray
    reference_label: str = "Keras"  # or the artifact drift is measured against

    @property
    def reference_predicted(self) -> np.ndarray:
        return self.reference_outputs.argmax(1)

    @property
    def reference_probabilities(self) -> np.ndarray:
        """The reference's class probabilities, read from its own output kind (softmax of logits only)."""
        return self.contract.probabilities(self.reference_outputs)

    def batch(self, size: int) -> np.ndarray:
        """The first ``size`` images, repeated when the split is smaller."""
        return self.images[np.arange(size) % len(self.images)]


@dataclass(frozen=True)
class ReferenceMeasurement:
    result: ReferenceResult
    evaluation: EvaluationSet


@dataclass(frozen=True)
class ArtifactMeasurement:
    result: ArtifactResult
    predicted: np.ndarray  # the artifact's top-1 class per image of the evaluation set


def load_for_bench(run_dir: Path, config: BenchConfig, sources: DataSources, reporter: Reporter) -> Loaded:
    """Import TensorFlow (pinning its threads while still possible), load the reference and the split."""
    from edgekit.convert.inputs import load_inputs
    from edgekit.convert.reference import load_reference
    from edgekit.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    threads, split = config.threads, config.split
    if threads:
        try:  # only possible before TensorFlow runs its first op in this process
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            reporter.notice(
                "TensorFlow was already running in this process (training): Keras timings use its "
                "default thread count; artifact timings use --threads"
            )
    started = time.perf_counter()
    reference = load_reference(run_dir)
    load_ms = (time.perf_counter() - started) * 1e3
    prepared = load_inputs(reference, sources, config.declared or DeclaredContract(), reporter)
    dataset = prepared.dataset
    images = dataset.split(split)
    info = DatasetInfo(
        name=dataset.name,
        source=dataset.source,
        is_full_dataset=dataset.is_full,
        split=split,
        images=len(images.labels),
        evaluation_note=prepared.evaluation_note,
    )
    return Loaded(
        run_dir=run_dir,
        reference=reference,
        load_ms=load_ms,
        contract=prepared.contract,
        dataset=info,
        images=images.images,
        labels=images.labels.astype(np.int64),
    )


def measure_reference(loaded: Loaded, config: BenchConfig) -> ReferenceMeasurement:
    """Evaluate the Keras reference on the whole split and time it through predict and a direct call."""
    from edgekit.tensorflow_import import describe_device

    reference, contract = loaded.reference, loaded.contract
    started = time.perf_counter()
    outputs = reference.outputs(contract.model_input(loaded.images))
    eval_seconds = time.perf_counter() - started
    evaluation = EvaluationSet(loaded.images, loaded.labels, contract, outputs)
    predicted = evaluation.reference_predicted
    model_input = contract.model_input(evaluation.batch(max(config.batch_sizes)))
    predict, call = {}, {}
    for b in config.batch_sizes:
        x = model_input[np.arange(b) % len(model_input)]
        predict[b] = summarize(time_calls(partial(reference.model.predict, x, verbose=0), KERAS_POLICY), b)
        call[b] = summarize(time_calls(partial(reference.model, x, training=False), KERAS_POLICY), b)
    result = ReferenceResult(
        device=describe_device(),
        file=str(reference.path),
        size_bytes=reference.path.stat().st_size,
        load_ms=round(loaded.load_ms, 3),
        eval_seconds=round(eval_seconds, 4),
        accuracy=float(np.mean(predicted == loaded.labels)),
        per_class_accuracy=tuple(per_class_accuracy(loaded.labels, predicted, contract.num_classes)),
        predict_latency=predict,
        call_latency=call,
    )
    return ReferenceMeasurement(result, evaluation)
