"""Accuracy drift of an artifact against the Keras reference, on the same images."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.contract import OutputKind, softmax
from edgekit.convert.parity import parity_figures

EPS = 1e-12


@dataclass(frozen=True)
class Drift:
    """What conversion changed, on the same images: accuracies are fractions, *_points percentage points."""

    accuracy: float
    reference_accuracy: float
    accuracy_delta_points: float
    agreement: float  # top-1 agreement with the reference
    disagreements: int
    disagreeing_indices: tuple[int, ...]
    max_abs_prob_diff: float
    mean_abs_prob_diff: float
    mean_kl_divergence: float  # nats, KL(reference || artifact)
    per_class_accuracy: tuple[float | None, ...]
    per_class_delta_points: tuple[float | None, ...]
    confusion_matrix: tuple[tuple[int, ...], ...]  # [true][predicted] counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "reference_accuracy": self.reference_accuracy,
            "accuracy_delta_points": self.accuracy_delta_points,
            "agreement": self.agreement,
            "disagreements": self.disagreements,
            "disagreeing_indices": list(self.disagreeing_indices),
            "max_abs_prob_diff": self.max_abs_prob_diff,
            "mean_abs_prob_diff": self.mean_abs_prob_diff,
            "mean_kl_divergence": self.mean_kl_divergence,
            "per_class_accuracy": list(self.per_class_accuracy),
            "per_class_delta_points": list(self.per_class_delta_points),
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Drift:
        return Drift(
            accuracy=float(data["accuracy"]),
            reference_accuracy=float(data["reference_accuracy"]),
            accuracy_delta_points=float(data["accuracy_delta_points"]),
            agreement=float(data["agreement"]),
            disagreements=int(data["disagreements"]),
            disagreeing_indices=tuple(int(i) for i in data["disagreeing_indices"]),
            max_abs_prob_diff=float(data["max_abs_prob_diff"]),
            mean_abs_prob_diff=float(data["mean_abs_prob_diff"]),
            mean_kl_divergence=float(data["mean_kl_divergence"]),
            per_class_accuracy=_optional_floats(data["per_class_accuracy"]),
            per_class_delta_points=_optional_floats(data["per_class_delta_points"]),
            confusion_matrix=tuple(tuple(int(v) for v in row) for row in data["confusion_matrix"]),
        )


def _optional_floats(values: Any) -> tuple[float | None, ...]:
    return tuple(None if v is None else float(v) for v in values)


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
    # KL is never negative; rounding of two nearly equal distributions can make the sum -1e-9
    return max(0.0, float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))))


def drift(
    reference_logits: np.ndarray,
    artifact_logits: np.ndarray,
    labels: np.ndarray,
    classes: int = 10,
    output_kind: OutputKind = OutputKind.LOGITS,
) -> Drift:
    """Everything a user needs to know about what conversion changed.

    The arguments are the models' outputs, logits or probabilities by ``output_kind``.
    """
    figures = parity_figures(reference_logits, artifact_logits, labels, output_kind)
    ref_pred, art_pred = reference_logits.argmax(1), artifact_logits.argmax(1)
    ref_classes = per_class_accuracy(labels, ref_pred, classes)
    art_classes = per_class_accuracy(labels, art_pred, classes)
    return Drift(
        accuracy=figures["artifact_accuracy"],
        reference_accuracy=figures["reference_accuracy"],
        accuracy_delta_points=round((figures["artifact_accuracy"] - figures["reference_accuracy"]) * 100, 4),
        agreement=figures["agreement"],
        disagreements=len(figures["disagreeing_indices"]),
        disagreeing_indices=tuple(int(i) for i in figures["disagreeing_indices"]),
        max_abs_prob_diff=figures["max_abs_prob_diff"],
        mean_abs_prob_diff=figures["mean_abs_prob_diff"],
        mean_kl_divergence=mean_kl_divergence(
            _probabilities(reference_logits, output_kind), _probabilities(artifact_logits, output_kind)
        ),
        per_class_accuracy=tuple(art_classes),
        per_class_delta_points=tuple(
            None if a is None or r is None else round((a - r) * 100, 4)
            for a, r in zip(art_classes, ref_classes, strict=True)
        ),
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in confusion_matrix(labels, art_pred, classes)),
    )


def _probabilities(outputs: np.ndarray, output_kind: OutputKind) -> np.ndarray:
    return outputs.astype(np.float64) if output_kind is OutputKind.PROBABILITIES else softmax(outputs, np.float64)
