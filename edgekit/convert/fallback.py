"""Accuracy-aware int8 (``--allow-float-fallback``): full integer first; when it misses its band, keep in float
the layer that adds the most error, one at a time, until the band holds or the tries run out.

The ranking is ``edgekit explain``'s: each candidate is compared with the Keras reference layer by layer on
held-out parity images, and the layer whose own added error is largest (the lowest added SQNR, see
``explain/artifact.py``) goes to float next. TFLite keeps it float through TensorFlow's quantization
debugger (``denylisted_nodes``), ONNX through onnxruntime's ``nodes_to_exclude``. The artifact is written as
FORMAT-int8-mixed, its sidecar naming the float layers and every try; the full-integer candidate that
missed is not kept. Without the flag nothing here runs: full integer stays the promise, a miss an error.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from edgekit.convert.artifacts import keep, measure_parity
from edgekit.convert.results import ConversionResult, FallbackTry
from edgekit.formats import FORMATS, Format, Quantization

RANKING_SAMPLES = 256  # held-out parity images the layers are ranked on (explain's default debug set)


def int8_or_mixed(job: Any, fmt: Format, content: bytes, started: float) -> ConversionResult:
    """The full-integer artifact when it holds its band, else the int8-mixed one (see the module docstring)."""
    figures, failures = _evaluate(job, fmt, Quantization.INT8, content)
    if not failures:
        return keep(job, fmt, Quantization.INT8, content, round(time.perf_counter() - started, 3))
    from edgekit.explain.golden import capture_keras

    golden = capture_keras(job.reference.keras_model, job.plan.parity_inputs[:RANKING_SAMPLES])
    quantize = FORMATS[fmt].load_mixed_converter()(job.reference, job.plan.calibration_inputs, job.options)
    tries, candidate = [_try((), figures, failures)], content
    float_layers: tuple[str, ...] = ()
    while failures and len(float_layers) < job.options.float_fallback_tries:
        layer = _worst_quantized_layer(golden, fmt, candidate, float_layers)
        if layer is None:
            break
        float_layers = (*float_layers, layer)
        candidate = quantize(float_layers)
        figures, failures = _evaluate(job, fmt, Quantization.INT8_MIXED, candidate)
        tries.append(_try(float_layers, figures, failures))
    seconds = round(time.perf_counter() - started, 3)
    if not float_layers:  # no layer adds error worth keeping in float: full integer, outside its band, as without
        return keep(job, fmt, Quantization.INT8, content, seconds)
    return keep(job, fmt, Quantization.INT8_MIXED, candidate, seconds, tuple(tries))


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


def _evaluate(job: Any, fmt: Format, mode: Quantization, content: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """A candidate's parity figures and band failures (it is loaded from a temporary file, not kept)."""
    from edgekit.runtime import load

    with tempfile.TemporaryDirectory(prefix="edgekit-fallback-") as tmp:
        path = Path(tmp) / f"candidate{FORMATS[fmt].suffix}"
        path.write_bytes(content)
        return measure_parity(job, load(path), mode)


def _try(float_layers: tuple[str, ...], figures: dict[str, Any] | None, failures: list[str]) -> FallbackTry:
    figures = figures or {}
    return FallbackTry(
        float_layers,
        float(figures.get("accuracy_drop_points", 0.0)),
        float(figures.get("agreement", 0.0)),
        tuple(failures),
    )
