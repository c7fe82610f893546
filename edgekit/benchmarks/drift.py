"""Accuracy drift of an artifact against the Keras reference, on the same images."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit.contract import OutputKind, softmax
from edgekit.convert.parity import parity_figures

EPS = 1e-12


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(true, predicted) counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_accuracy(labels: np.ndarray, predicted: np.ndarray, classes: int) -> list[float | None]:
    """Accuracy of each true class (None for a class absent from the labels)."""
    out: list[float | None] = []
    for c in range(classes):
        mask = labels == c
        out.append(float(np.mean(predicted[mask] == c)) if mask.any() else None)
    return out


def mean_kl_divergence(reference_probs: np.ndarray, artifact_probs: np.ndarray) -> float:
    """Mean over images of KL(reference || artifact), in nats."""
    p = np.clip(reference_probs, EPS, 1.0)
    q = np.clip(artifact_probs, EPS, 1.0)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1)))


def drift(reference_logits: np.ndarray, artifact_logits: np.ndarray, labels: np.ndarray,
          classes: int = 10, output_kind: OutputKind = OutputKind.LOGITS) -> dict[str, Any]:
    """Everything a user needs to know about what conversion changed, as plain JSON-able values.

    The arguments are the models' outputs, logits or probabilities by ``output_kind``.
    """
    figures = parity_figures(reference_logits, artifact_logits, labels, output_kind)
    ref_pred, art_pred = reference_logits.argmax(1), artifact_logits.argmax(1)
    ref_classes = per_class_accuracy(labels, ref_pred, classes)
    art_classes = per_class_accuracy(labels, art_pred, classes)
    return {
        "accuracy": figures["artifact_accuracy"],
        "reference_accuracy": figures["reference_accuracy"],
        "accuracy_delta_points": round((figures["artifact_accuracy"] - figures["reference_accuracy"]) * 100, 4),
        "agreement": figures["agreement"],
        "disagreements": len(figures["disagreeing_indices"]),
        "disagreeing_indices": figures["disagreeing_indices"],
        "max_abs_prob_diff": figures["max_abs_prob_diff"],
        "mean_abs_prob_diff": figures["mean_abs_prob_diff"],
        "mean_kl_divergence": mean_kl_divergence(_probabilities(reference_logits, output_kind),
                                                 _probabilities(artifact_logits, output_kind)),
        "per_class_accuracy": art_classes,
        "per_class_delta_points": [None if a is None or r is None else round((a - r) * 100, 4)
                                   for a, r in zip(art_classes, ref_classes)],
        "confusion_matrix": confusion_matrix(labels, art_pred, classes).tolist(),
    }


def _probabilities(outputs: np.ndarray, output_kind: OutputKind) -> np.ndarray:
    return outputs.astype(np.float64) if output_kind is OutputKind.PROBABILITIES else softmax(outputs, np.float64)
