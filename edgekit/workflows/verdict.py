"""The one-line verdict on an int8 artifact outside its band: which layer loses it (explain's ranking), and what to
do next. A workflow: it reads convert's results and explain's comparison, so it sits above both."""

from __future__ import annotations

from typing import Any

from edgekit.convert.results import CALIBRATION_METHODS
from edgekit.formats import FORMATS, Format, Quantization

RANKING_SAMPLES = 256  # as the float fallback ranks layers


def verdict_of(job: Any, fmt: Format, content: bytes, tried_all: bool) -> str:
    """'layer X (Kind) adds the most error (N dB SQNR): <the next option>'.

    ``tried_all``: --allow-float-fallback already tried every step, so the next option is outside int8.
    """
    worst = _worst_layer(job, fmt, content)
    if worst is not None:
        where = f"layer {worst.layer} ({worst.kind}) adds the most error ({worst.added_sqnr_db:.0f} dB SQNR)"
    elif getattr(job.reference, "keras_model", None) is None:
        where = "its layers are not ranked (a SavedModel has no Keras layers to compare)"
    else:
        where = "no single layer stands out"
    if tried_all:
        steps = "calibration methods, float layers" + (", int16x8" if _has_int16x8(fmt) else "")
        return (
            f"{where}; with {steps} tried, use {_floats(fmt)} for this model, or train it to clearer answers "
            "(int8 moves the images that sit close to a class boundary)"
        )
    others = " or ".join(m for m in CALIBRATION_METHODS if m != job.options.calibration_method)
    layers = ", then keeps it in float" if getattr(job.reference, "keras_model", None) is not None else ""
    steps = f"--calibration-method {others}{layers}" + (", then int16x8" if _has_int16x8(fmt) else "")
    return f"{where}: --allow-float-fallback tries {steps}"


def _floats(fmt: Format) -> str:
    """The artifacts that keep float activations: dynamic, and float16 where the format has it."""
    kept = [m for m in (Quantization.DYNAMIC, Quantization.FLOAT16) if m in FORMATS[fmt].modes]
    return " or ".join(f"{fmt.value}-{m.value}" for m in kept)


def _has_int16x8(fmt: Format) -> bool:
    return Quantization.INT16X8 in FORMATS[fmt].modes


def _worst_layer(job: Any, fmt: Format, content: bytes) -> Any:
    """explain's worst layer of ``content`` on the parity images (None: no Keras model to compare layers with)."""
    model = getattr(job.reference, "keras_model", None)
    if model is None or job.plan.parity_inputs is None:
        return None
    from edgekit.explain.artifact import explain_artifact
    from edgekit.explain.golden import capture_keras

    golden = capture_keras(model, job.plan.parity_inputs[:RANKING_SAMPLES])
    ranking = explain_artifact(golden, fmt, content, "candidate", Quantization.INT8.value).ranking()
    return ranking[0] if ranking and ranking[0].added_sqnr_db is not None else None
