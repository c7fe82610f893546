"""Measuring one artifact for `edgekit bench`: load it, evaluate it on the whole split, time it, measure drift.

An artifact's latency is one interpreter call on ready input; a model exported with a fixed batch size is
timed as the calls ``Model.predict`` makes for each batch size (ceil(batch / fixed batch) calls of its own
batch). An artifact whose sidecar or embedded metadata names a source model other than the reference is
marked stale: its figures describe a model that no longer exists.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.config import BenchConfig
from edgekit.benchmarks.drift import drift
from edgekit.benchmarks.env import rss_mb
from edgekit.benchmarks.latency import LatencyStats, TimingPolicy, summarize, time_calls
from edgekit.benchmarks.measure import EvaluationSet
from edgekit.benchmarks.results import ArtifactResult
from edgekit.contract import OutputKind
from edgekit.errors import ArtifactError
from edgekit.formats import Quantization
from edgekit.layout import artifact_name


@dataclass(frozen=True)
class ArtifactMeasurement:
    result: ArtifactResult
    predicted: np.ndarray  # the artifact's top-1 class per image of the evaluation set


def load_artifact(path: Path, config: BenchConfig) -> Any:
    """An artifact as bench runs it: the bench's threads, the user's declared contract."""
    from edgekit.runtime import load

    return load(path, num_threads=config.threads, declared=config.declared, verify=config.verify)


def row_name(model: Any, path: Path) -> str:
    """edgekit's name for its own artifacts (tflite-int8); a foreign file keeps its file name's stem."""
    recorded = model.metadata.get("mode")
    return artifact_name(model.format, Quantization(recorded)) if recorded else path.stem


def stale_reason(model: Any, reference_sha256: str | None) -> str | None:
    """Why an artifact no longer describes the reference (converted from another model), or None."""
    recorded = model.metadata.get("source_model_sha256")
    if reference_sha256 is None or not recorded or recorded == reference_sha256:
        return None
    return f"converted from another model (sha256 {str(recorded)[:12]}, the reference is {reference_sha256[:12]})"


def measure_artifact(
    path: Path, config: BenchConfig, evaluation: EvaluationSet, reference_sha256: str | None = None
) -> ArtifactMeasurement:
    """Load an artifact, evaluate it on the whole split, time it at each batch size, measure its drift."""
    before = rss_mb()
    started = time.perf_counter()
    model = load_artifact(path, config)
    load_ms = (time.perf_counter() - started) * 1e3
    after = rss_mb()
    started = time.perf_counter()
    prediction = model.predict(evaluation.images)  # the whole split, raw in, as a user would call it
    eval_seconds = time.perf_counter() - started
    _check_comparable(path, model, prediction, evaluation)
    latency = _artifact_latency(model, config, evaluation)
    smallest = config.smallest_batch
    raw_best = _raw_invoke_best_ms(path, model, config.threads, evaluation.batch(smallest), config.policy)
    result = ArtifactResult(
        name=row_name(model, path),
        format=model.format,
        mode=Quantization(model.mode or "none"),
        file=str(path),
        size_bytes=path.stat().st_size,
        backend=model.backend,
        backend_version=model.backend_version,
        threads=config.threads,
        load_ms=round(load_ms, 3),
        eval_seconds=round(eval_seconds, 4),
        latency=latency,
        # both sides as probabilities, each read from its own output kind: a softmax artifact of a logits model
        # (or the other way round) is compared as it is meant, never softmaxed twice
        drift=drift(
            evaluation.reference_probabilities,
            prediction.probabilities,
            evaluation.labels,
            classes=len(model.class_names),
            output_kind=OutputKind.PROBABILITIES,
        ),
        rss_after_load_mb=after,
        rss_delta_load_mb=round(after - before, 1) if after is not None and before is not None else None,
        raw_invoke_best_ms=raw_best,
        p50_vs_raw_invoke_best=round(latency[smallest].p50_ms / raw_best, 3) if raw_best else None,
        stale=stale_reason(model, reference_sha256),
    )
    return ArtifactMeasurement(with_device_costs(result, path, model, config), prediction.labels)


def with_device_costs(result: ArtifactResult, path: Path, model: Any, config: BenchConfig) -> ArtifactResult:
    """The row with its MACs, and with --profile its peak memory and op profile (measured after its latency,
    on interpreters of their own)."""
    from edgekit.benchmarks.macs import count_macs

    result = replace(result, macs=count_macs(path, model.format))
    if not config.profile:
        return result
    from edgekit.benchmarks.memory import peak_memory
    from edgekit.benchmarks.profile import profile_ops
    from edgekit.runtime.backends import BACKENDS

    module = BACKENDS[model.backend].module
    return replace(
        result,
        memory=peak_memory(path, model.format, module, config.threads),
        op_profile=profile_ops(path, model.format, module, config.threads),
    )


def _check_comparable(path: Path, model: Any, prediction: Any, evaluation: EvaluationSet) -> None:
    """An artifact can be compared with the reference: as many classes, and finite scores on every image."""
    classes, expected = len(model.class_names), evaluation.contract.num_classes
    if classes != expected:
        raise ArtifactError(
            f"{path.name} has {classes} classes and the reference {expected}: they are not the same classifier",
            "bench artifacts of one model together",
        )
    bad = int((~np.isfinite(prediction.outputs).all(axis=1)).sum())
    if bad:
        raise ArtifactError(
            f"{path.name} returned NaN or infinite scores for {bad} of {len(prediction.outputs)} images",
            "the file may be damaged (compare its sha256 with its sidecar) or the contract may not fit it",
        )


def _calls(model: Any, batch: np.ndarray) -> tuple[Any, int]:
    """A pre-bound interpreter call for ``batch`` raw samples, and how many of them one timed run makes."""
    fixed = model.fixed_batch
    if fixed is None:
        return model.bound_call(model.prepare_input(batch)), 1
    return model.bound_call(model.prepare_input(batch[np.arange(fixed) % len(batch)])), math.ceil(len(batch) / fixed)


def _repeated(call: Any, times: int) -> Any:
    if times == 1:
        return call

    def run() -> None:
        for _ in range(times):
            call()

    return run


def _artifact_latency(model: Any, config: BenchConfig, evaluation: EvaluationSet) -> dict[int, LatencyStats]:
    latency, policy = {}, config.policy
    for b in config.batch_sizes:
        batch = evaluation.batch(b)
        # the artifact's own cost: the interpreter calls on ready input, nothing of edgekit's around them
        call, times = _calls(model, batch)
        stats = summarize(time_calls(_repeated(call, times), policy), b)
        # what a caller of Model.predict sees, preprocessing included
        end_to_end = summarize(time_calls(partial(model.predict, batch), policy), b)
        latency[b] = stats.with_end_to_end(end_to_end)
    return latency


def _raw_invoke_best_ms(
    path: Path, model: Any, threads: int | None, batch: np.ndarray, policy: TimingPolicy
) -> float | None:
    """Best-case bare invoke() of a fresh interpreter of the same backend: the floor for batch-1 latency."""
    from edgekit.runtime.model import TFLITE_BACKENDS

    # tensorflow.lite is left out: its module path differs, and a device never runs it
    module = {name: module for name, module, _ in TFLITE_BACKENDS if name != "tensorflow"}.get(model.backend)
    if module is None:
        return None
    from edgekit.native_output import quiet_native_output

    fixed = model.fixed_batch
    model_input = model.prepare_input(batch if fixed is None else batch[np.arange(fixed) % len(batch)])
    with quiet_native_output():
        interpreter = importlib.import_module(module).Interpreter(model_path=str(path), num_threads=threads)
    detail = interpreter.get_input_details()[0]
    if fixed is None:
        interpreter.resize_tensor_input(detail["index"], list(model_input.shape), strict=False)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], model_input)
    return min(time_calls(interpreter.invoke, policy)) / 1e6
