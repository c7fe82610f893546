"""Predict files a user points at: one typed row per sample, or one error row per file that cannot be used.

Files are read by a Decoder (worker processes for big folders, see ``edgekit.runtime.pictures.decoding``);
pictures are predicted in batches of up to ``BATCH`` samples, arrays (.npy, IDX) file by file. Rows come
out in the order of the files. A file that cannot be read is reported in its place and the others are still predicted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ArtifactError, UsageError
from edgekit.runtime.model import Model
from edgekit.runtime.pictures.decoding import Decoder, Failure
from edgekit.runtime.pictures.images import LoadedImages, expand

BATCH = 256  # samples per interpreter call
NAN_HINT = "the model file may be damaged (compare its sha256 with its sidecar) or the input is out of its range"


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
    notes: tuple[str, ...] = ()  # what was noticed reading the file (a blank picture, an animation)
    failed = False

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
            **({"notes": list(self.notes)} if self.notes else {}),
        }


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be predicted, and why."""

    source: str
    message: str
    hint: str | None = None
    failed = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON row of ``edgekit predict --json`` for this file."""
        return {"source": self.source, "error": self.message, **({"hint": self.hint} if self.hint else {})}


Row = SamplePrediction | FileFailure


def _rows(model: Model, items: list[LoadedImages], k: int) -> Iterator[Row]:
    """Predict the samples of ``items`` in one call and yield their rows in order."""
    try:
        prediction = model.predict(items[0].images if len(items) == 1 else np.concatenate([i.images for i in items]))
    except ArtifactError as exc:
        if len(items) == 1:
            yield FileFailure(items[0].source, exc.message, exc.hint)
            return
        raise
    scores, raw, at = prediction.top_k(k), prediction.raw, 0
    finite = np.isfinite(prediction.outputs).all(axis=1)
    for item in items:
        count = len(raw) if len(items) == 1 else 1  # an array file holds one sample or many; a picture, one
        for i in range(count):
            source = item.source + (f"[{i}]" if count > 1 else "")
            if not finite[at]:
                yield FileFailure(source, f"{source}: the model returned NaN or infinite scores", NAN_HINT)
            else:
                yield SamplePrediction(
                    source=source,
                    top_k=tuple(ClassScore(*s) for s in scores[at]),
                    raw=tuple(raw[at].tolist()),
                    notes=item.notes,
                )
            at += 1


def _batched(model: Model, loaded: Iterable[LoadedImages | Failure], k: int) -> Iterator[Row]:
    pending: list[LoadedImages] = []
    for item in loaded:
        if isinstance(item, LoadedImages) and item.is_picture and len(item.images) == 1:
            pending.append(item)
            if len(pending) < BATCH:
                continue
        if pending:
            yield from _rows(model, pending, k)
            pending = []
        if isinstance(item, Failure):
            yield FileFailure(item.source, item.error.message, item.error.hint)
        elif not (item.is_picture and len(item.images) == 1):
            yield from _rows(model, [item], k)
    if pending:
        yield from _rows(model, pending, k)


def check_top_k(top_k: int) -> None:
    """--top-k must be at least 1 (checked before a model is loaded)."""
    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")


def predict_files(model: Model, paths: Iterable[Path], top_k: int = 1, decoder: Decoder | None = None) -> Iterator[Row]:
    """Each sample of each file (pictures made for the model's contract, .npy, IDX, folders), in order;
    a file that cannot be used yields a FileFailure in its place. ``decoder``: an open Decoder with worker
    processes for big folders (see edgekit.runtime.pictures.decoding); by default files are read here."""
    check_top_k(top_k)
    k = min(top_k, len(model.class_names))
    yield from _batched(model, (decoder or Decoder()).read(expand(paths), model.contract), k)
