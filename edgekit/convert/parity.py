"""Parity figures: how an artifact's answers compare with the Keras model's on the same images."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edgekit.contract import OutputKind, softmax
from edgekit.formats import Quantization


@dataclass(frozen=True)
class ParityBand:
    """What an artifact must achieve against the Keras model on held-out images."""

    min_agreement: float  # top-1 agreement, fraction
    max_output_diff: float | None = None  # float paths only: max |output diff| (logits or probabilities)
    max_accuracy_drop: float | None = None  # points (percentage points)


PARITY_BANDS: dict[Quantization, ParityBand] = {
    Quantization.NONE: ParityBand(min_agreement=1.0, max_output_diff=1e-4),
    Quantization.FLOAT16: ParityBand(min_agreement=0.995),
    Quantization.DYNAMIC: ParityBand(min_agreement=0.995),
    Quantization.INT8: ParityBand(min_agreement=0.99, max_accuracy_drop=0.5),
    Quantization.INT8_MIXED: ParityBand(min_agreement=0.99, max_accuracy_drop=0.5),  # the promise int8 missed
    Quantization.INT16X8: ParityBand(min_agreement=0.99, max_accuracy_drop=0.5),  # the same promise
}


def band_for(mode: Quantization, max_accuracy_drop: float | None = None) -> ParityBand:
    """The band of ``mode``; ``max_accuracy_drop`` (points, --max-accuracy-drop) replaces the int8 modes' limit."""
    band = PARITY_BANDS[mode]
    if max_accuracy_drop is None or band.max_accuracy_drop is None:
        return band
    return replace(band, max_accuracy_drop=max_accuracy_drop)


def parity_figures(
    reference_outputs: np.ndarray,
    artifact_outputs: np.ndarray,
    labels: np.ndarray,
    output_kind: OutputKind = OutputKind.LOGITS,
) -> dict[str, Any]:
    """Agreement, accuracies, probability and output differences between two sets of outputs.

    Outputs are what the model returns (logits or probabilities, by ``output_kind``); probabilities
    are never made by softmaxing probabilities. ``max_abs_logit_diff`` is reported for logits models only.
    """
    ref_pred, art_pred = reference_outputs.argmax(1), artifact_outputs.argmax(1)
    # float64: the figures must not suffer from float32 round-off
    p_ref = _probabilities(reference_outputs, output_kind)
    p_art = _probabilities(artifact_outputs, output_kind)
    prob_diff = np.abs(p_ref - p_art)
    output_diff = float(np.abs(reference_outputs.astype(np.float64) - artifact_outputs).max())
    ref_acc, art_acc = float(np.mean(ref_pred == labels)), float(np.mean(art_pred == labels))
    figures = {
        "images": len(labels),
        "output_kind": output_kind.value,
        "agreement": float(np.mean(ref_pred == art_pred)),
        "reference_accuracy": ref_acc,
        "artifact_accuracy": art_acc,
        "accuracy_drop_points": round((ref_acc - art_acc) * 100, 4),
        "max_abs_prob_diff": float(prob_diff.max()),
        "mean_abs_prob_diff": float(prob_diff.mean()),
        "max_abs_output_diff": output_diff,
        "disagreeing_indices": np.flatnonzero(ref_pred != art_pred).tolist(),
    }
    if output_kind is OutputKind.LOGITS:
        figures["max_abs_logit_diff"] = output_diff
    return figures


def _probabilities(outputs: np.ndarray, output_kind: OutputKind) -> np.ndarray:
    if output_kind is OutputKind.PROBABILITIES:
        return outputs.astype(np.float64)
    return softmax(outputs, np.float64)


def band_failures(figures: dict[str, Any], mode: Quantization, band: ParityBand | None = None) -> list[str]:
    """Each way the figures fall outside the expected band for ``mode`` (or ``band``), as a readable sentence."""
    band = band or PARITY_BANDS[mode]
    failures = []
    if figures["agreement"] < band.min_agreement:
        failures.append(f"top-1 agreement {figures['agreement']:.2%} < {band.min_agreement:.1%}")
    if band.max_output_diff is not None and figures["max_abs_output_diff"] > band.max_output_diff:
        what = "logit" if figures.get("output_kind", "logits") == "logits" else "probability"
        failures.append(f"max |{what} diff| {figures['max_abs_output_diff']:.2e} > {band.max_output_diff:.0e}")
    if band.max_accuracy_drop is not None and figures["accuracy_drop_points"] > band.max_accuracy_drop:
        failures.append(f"accuracy drop {figures['accuracy_drop_points']:.2f} points > {band.max_accuracy_drop}")
    return failures
