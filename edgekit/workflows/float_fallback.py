"""Accuracy-aware int8 (``--allow-float-fallback``): full integer first; when it misses its band, the next steps
in order, each measured on the held-out parity images, until one holds:

1. the other calibration methods (percentile, entropy: still full integer, only the activation ranges change);
2. per-layer float: keep in float the layer that adds the most error, one at a time (at most
   ``float_fallback_tries``), calibrated by the best method of step 1;
3. TFLite only: int16x8 (int16 activations, int8 weights, still integer-only).

The ranking is ``edgekit explain``'s: each candidate is compared with the Keras reference layer by layer on
held-out parity images, and the layer whose own added error is largest (the lowest added SQNR, see
``explain/artifact.py``) goes to float next. TFLite keeps it float through ``denylisted_nodes``, ONNX through
onnxruntime's ``nodes_to_exclude``. The kept artifact is FORMAT-int8 (a calibration method held),
FORMAT-int8-mixed (its sidecar naming the float layers) or tflite-int16x8, with every try in its sidecar;
candidates that missed are not kept. When none holds, the best is kept and its verdict says what is left.
Without the flag only the verdict runs: full integer stays the promise, a miss an error with a verdict.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgekit.convert.artifacts import keep, measure_parity
from edgekit.convert.own_output import refused
from edgekit.convert.results import CALIBRATION_METHODS, ConversionResult, FallbackTry
from edgekit.errors import ArtifactError, ConversionError
from edgekit.formats import FORMATS, Format, Quantization
from edgekit.workflows.verdict import verdict_of

RANKING_SAMPLES = 256  # held-out parity images the layers are ranked on (explain's default debug set)


@dataclass(frozen=True)
class _Candidate:
    """One measured try: what it is, its bytes, and the job (options) that made it."""

    job: Any
    mode: Quantization
    content: bytes
    tried: FallbackTry

    @property
    def holds(self) -> bool:
        return not self.tried.failures


def int8_or_mixed(job: Any, fmt: Format, content: bytes, started: float) -> ConversionResult:
    """The first candidate that holds its band, in the module docstring's order (else the best one); without
    --allow-float-fallback, the int8 artifact as converted, with a verdict when it misses its band."""
    if not job.options.allow_float_fallback:
        result = keep(job, fmt, Quantization.INT8, content, round(time.perf_counter() - started, 3))
        if not result.parity_failures:
            return result
        return replace(result, verdict=verdict_of(job, fmt, content, tried_all=False))
    tries = [_measure(job, fmt, Quantization.INT8, content)]
    for method in (m for m in CALIBRATION_METHODS if m != job.options.calibration_method):
        if tries[-1].holds:
            break
        tried_job = replace(job, options=replace(job.options, calibration_method=method))
        tries.append(_made(tried_job, fmt, Quantization.INT8))
    if not tries[-1].holds and job.reference.keras_model is not None:  # a SavedModel has no layers to rank
        tries += _float_layers(_best(tries), fmt)
    if not tries[-1].holds and Quantization.INT16X8 in FORMATS[fmt].modes:
        as_made = replace(job.options, calibration_method=job.options.method_for(Quantization.INT16X8))
        tries.append(_made(replace(job, options=as_made), fmt, Quantization.INT16X8))
    chosen = tries[-1] if tries[-1].holds else _best(tries)
    seconds = round(time.perf_counter() - started, 3)
    story = tuple(replace(t.tried, kept=t is chosen) for t in tries) if len(tries) > 1 else ()
    result = keep(chosen.job, fmt, chosen.mode, chosen.content, seconds, story)
    if chosen.holds:
        return result
    return replace(result, verdict=verdict_of(chosen.job, fmt, chosen.content, tried_all=True))


def _converted(job: Any, fmt: Format, mode: Quantization) -> bytes:
    return FORMATS[fmt].load_converter()(job.reference, mode, job.plan.calibration_inputs, job.options)


def _made(job: Any, fmt: Format, mode: Quantization) -> _Candidate:
    """Convert and measure one step, or record why it could not be made (LiteRT has no int16x8 kernel for
    HARD_SWISH; a converter that fails on one calibration) and go on to the next."""
    try:
        return _measure(job, fmt, mode, _converted(job, fmt, mode))
    except ConversionError as exc:
        tried = FallbackTry((), 0.0, 0.0, (str(exc),), job.options.calibration_method, mode.value, made=False)
        return _Candidate(job, mode, b"", tried)


def _best(tries: list[_Candidate]) -> _Candidate:
    """The candidate closest to its band: highest agreement, then smallest accuracy drop (one that was made)."""
    made = [t for t in tries if t.content]
    return max(made, key=lambda t: (t.tried.agreement, -t.tried.accuracy_drop_points))


def _float_layers(start: _Candidate, fmt: Format) -> list[_Candidate]:
    """Step 2: one more layer in float per try, from ``start``'s calibration, until the band holds."""
    from edgekit.explain.golden import capture_keras

    job = start.job
    golden = capture_keras(job.reference.keras_model, job.plan.parity_inputs[:RANKING_SAMPLES])
    quantize = FORMATS[fmt].load_mixed_converter()(job.reference, job.plan.calibration_inputs, job.options)
    tries: list[_Candidate] = []
    candidate = start.content
    float_layers: tuple[str, ...] = ()
    unkeepable: tuple[str, ...] = ()  # layers with no op of their own to keep in float (folded into another's)
    while (not tries or not tries[-1].holds) and len(float_layers) < job.options.float_fallback_tries:
        layer = _worst_quantized_layer(golden, fmt, candidate, (*float_layers, *unkeepable))
        if layer is None:
            break
        try:
            made = quantize((*float_layers, layer))
        except ConversionError:  # "no ONNX node belongs to ...": rank the next layer instead
            unkeepable = (*unkeepable, layer)
            continue
        candidate, float_layers = made, (*float_layers, layer)
        tries.append(_measure(job, fmt, Quantization.INT8_MIXED, candidate, float_layers))
    return tries


def _worst_quantized_layer(golden: Any, fmt: Format, content: bytes, float_layers: tuple[str, ...]) -> str | None:
    """The next layer to keep in float: the one adding the most error that is not float yet and has ops.

    When that error shows at a layer already in float, it is the int8 rounding of the layer's output for the
    next layer (the converter quantizes a float layer's output for an int8 consumer): the next layer goes to
    float too, so that the tensor between them stays float.
    """
    from edgekit.explain.artifact import explain_artifact
    from edgekit.explain.metrics import SQNR_LIMIT_DB

    explanation = explain_artifact(golden, fmt, content, "candidate", Quantization.INT8.value)
    own_ops = [r.layer for r in explanation.rows if r.match in ("name", "output")]
    for row in explanation.ranking():
        if row.added_sqnr_db is None or row.added_sqnr_db >= SQNR_LIMIT_DB:
            return None  # the rest add no error
        if row.layer in own_ops and row.layer not in float_layers:
            return row.layer
        if row.layer in float_layers:
            after = own_ops[own_ops.index(row.layer) + 1 :] if row.layer in own_ops else []
            consumer = next((layer for layer in after if layer not in float_layers), None)
            if consumer is not None:
                return consumer
    return None


def _measure(
    job: Any, fmt: Format, mode: Quantization, content: bytes, float_layers: tuple[str, ...] = ()
) -> _Candidate:
    """A candidate's parity figures against its band (it is loaded from a temporary file, not kept)."""
    from edgekit.runtime import load

    with tempfile.TemporaryDirectory(prefix="edgekit-fallback-") as tmp:
        path = Path(tmp) / f"candidate{FORMATS[fmt].suffix}"
        path.write_bytes(content)
        try:
            loaded = load(path)
        except ArtifactError as exc:  # edgekit's own candidate: a converter bug, named with its op
            raise refused(fmt, f"{fmt.value}-{mode.value} candidate", content, exc) from exc
        figures, failures = measure_parity(job, loaded, mode)
    figures = figures or {}
    tried = FallbackTry(
        float_layers,
        float(figures.get("accuracy_drop_points", 0.0)),
        float(figures.get("agreement", 0.0)),
        tuple(failures),
        job.options.calibration_method,
        mode.value,
    )
    return _Candidate(job, mode, content, tried)
