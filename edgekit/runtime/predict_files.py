"""Predict files a user points at: one typed row per sample, for ``edgekit predict`` and for scripts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.errors import UsageError
from edgekit.runtime.images import load_images
from edgekit.runtime.model import Model


@dataclass(frozen=True)
class ClassScore:
    """One class of a prediction and its probability."""

    label: int
    class_name: str
    probability: float


@dataclass(frozen=True)
class SamplePrediction:
    """What the model said about one sample: the k most likely classes, and the interpreter's raw output."""

    source: str  # the file, with [i] for the i-th sample of a multi-sample file
    top_k: tuple[ClassScore, ...]
    raw: tuple[Any, ...]  # exactly what the interpreter returned (int8 for full-integer artifacts)

    @property
    def best(self) -> ClassScore:
        return self.top_k[0]

    def to_dict(self) -> dict[str, Any]:
        """The JSON row of ``edgekit predict --json``."""
        return {
            "source": self.source,
            "label": self.best.label,
            "class_name": self.best.class_name,
            "probability": round(self.best.probability, 6),
            "top_k": [
                {"label": s.label, "class_name": s.class_name, "probability": round(s.probability, 6)}
                for s in self.top_k
            ],
            "raw": list(self.raw),
        }


def predict_files(model: Model, paths: Iterable[Path], top_k: int = 1) -> Iterator[SamplePrediction]:
    """Each sample of each file (pictures resized to the model's contract, .npy, IDX, folders), in order."""
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")
    k = min(top_k, len(model.class_names))
    for path in paths:
        for item in load_images(Path(path), model.contract):
            prediction = model.predict(item.images)
            many = len(prediction.raw) > 1
            for i, scores in enumerate(prediction.top_k(k)):
                yield SamplePrediction(
                    source=str(item.source) + (f"[{i}]" if many else ""),
                    top_k=tuple(ClassScore(*s) for s in scores),
                    raw=tuple(prediction.raw[i].tolist()),
                )
