"""One artifact explained: its layer map and, for every matched layer, how far it is from Keras.

Every row has the layer's SQNR, its change from the previous matched layer (``delta_sqnr_db``), and the
SQNR of the error the layer adds by itself (``added_sqnr_db``): error powers add, so a layer whose
noise-to-signal ratio goes from n0 to n1 adds n1 - n0, which is -10 log10(n1 - n0) dB. A drop from 140 to
40 dB and one from 40 to 5 dB are both large in dB, but only the second adds error that matters; the
added SQNR ranks them right (about 40 dB and 5 dB). A layer that adds nothing (pooling, reshapes, a
ReLU clipping noise away) gets SQNR_LIMIT_DB.

The added error is read on the worse of the tensor's SQNR and its feature SQNR (``metrics.py``): a layer
whose few huge outlier units set a per-tensor int8 scale that rounds every other unit to nothing
keeps a fine tensor SQNR (the outliers carry the energy) but not a fine feature SQNR, so the blame lands on
it rather than on the next layer, where the damage first shows in the tensor SQNR.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from edgekit.explain.capture import capture
from edgekit.explain.golden import INPUT_LAYER, Golden
from edgekit.explain.layermap import Boundary, Unmatched, map_layers
from edgekit.explain.metrics import SQNR_LIMIT_DB, compare
from edgekit.formats import Format

WORST_BELOW_DB = 60.0  # the layer adding the most error is marked when that error is above -60 dB (float16 is ~75 dB)


@dataclass(frozen=True)
class LayerRow:
    """One matched layer of one artifact."""

    artifact: str
    layer: str
    kind: str  # the Keras class
    tensor: str  # the artifact tensor compared
    match: str  # how the tensor was found: input, output, name or shape
    shape: tuple[int, ...]  # one sample, in the Keras layout
    dtype: str  # the artifact tensor's storage type
    scale: float  # its quantization step (0: float)
    sqnr_db: float
    feature_sqnr_db: float  # the median feature's SQNR
    delta_sqnr_db: float | None  # change from the previous matched layer (None for the input)
    added_sqnr_db: float | None  # the SQNR of the error this layer adds by itself (None for the input)
    cosine: float
    max_abs_error: float
    mean_abs_error: float
    rmse_over_scale: float | None  # int8 tensors: about 0.289 is rounding noise alone
    worst: bool = False

    @property
    def worse_sqnr_db(self) -> float:
        """The worse of the tensor and the feature view: what the added error is read on."""
        return min(self.sqnr_db, self.feature_sqnr_db)

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "layer": self.layer,
            "kind": self.kind,
            "tensor": self.tensor,
            "match": self.match,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "scale": self.scale,
            "sqnr_db": round(self.sqnr_db, 3),
            "feature_sqnr_db": round(self.feature_sqnr_db, 3),
            "delta_sqnr_db": None if self.delta_sqnr_db is None else round(self.delta_sqnr_db, 3),
            "added_sqnr_db": None if self.added_sqnr_db is None else round(self.added_sqnr_db, 3),
            "cosine": self.cosine,
            "max_abs_error": self.max_abs_error,
            "mean_abs_error": self.mean_abs_error,
            "rmse_over_scale": self.rmse_over_scale,
            "worst": self.worst,
        }


@dataclass(frozen=True)
class ArtifactExplanation:
    """Every matched layer of one artifact (model order) and the layers that could not be matched."""

    name: str
    format: Format
    mode: str
    rows: tuple[LayerRow, ...]
    unmatched: tuple[Unmatched, ...]
    seconds: float

    def ranking(self) -> list[LayerRow]:
        """Layers by the error they add, worst first (the input is not a layer)."""
        layers = [r for r in self.rows if r.layer != INPUT_LAYER and r.added_sqnr_db is not None]
        return sorted(layers, key=lambda r: (r.added_sqnr_db, r.sqnr_db))

    @property
    def worst(self) -> LayerRow | None:
        return next((r for r in self.rows if r.worst), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.name,
            "format": self.format.value,
            "mode": self.mode,
            "worst_layer": self.worst.layer if self.worst else None,
            "ranking": [r.layer for r in self.ranking()],
            "unmatched": [{"layer": u.layer, "reason": u.reason} for u in self.unmatched],
            "seconds": self.seconds,
        }


def added_sqnr_db(previous_db: float, current_db: float) -> float:
    """The SQNR of the error added between two layers, assuming error powers add (see the module docstring)."""
    added = 10 ** (-current_db / 10) - 10 ** (-previous_db / 10)
    return SQNR_LIMIT_DB if added <= 0 else min(SQNR_LIMIT_DB, -10 * math.log10(added))


def explain_artifact(golden: Golden, fmt: Format, content: bytes, name: str, mode: str) -> ArtifactExplanation:
    """Capture the artifact on the golden debug set, map its layers, and compare each one."""
    started = time.perf_counter()
    layer_map = map_layers(golden, capture(fmt, content, golden.inputs))
    kinds = {layer.name: layer.kind for layer in golden.layers}
    rows: list[LayerRow] = []
    for boundary in layer_map.boundaries:
        rows.append(_row(name, kinds[boundary.layer], boundary, golden, rows[-1] if rows else None))
    rows = _mark_worst(rows)
    return ArtifactExplanation(
        name, fmt, mode, tuple(rows), layer_map.unmatched, round(time.perf_counter() - started, 3)
    )


def _row(artifact: str, kind: str, boundary: Boundary, golden: Golden, previous: LayerRow | None) -> LayerRow:
    tensor, reference = boundary.tensor, golden.values[boundary.layer]
    figures = compare(reference, boundary.values(), tensor.scale)
    return LayerRow(
        artifact=artifact,
        layer=boundary.layer,
        kind=kind,
        tensor=tensor.name,
        match=boundary.match,
        shape=tuple(int(d) for d in reference.shape[1:]),
        dtype=tensor.dtype,
        scale=tensor.scale,
        sqnr_db=figures.sqnr_db,
        feature_sqnr_db=figures.feature_sqnr_db,
        delta_sqnr_db=None if previous is None else figures.sqnr_db - previous.sqnr_db,
        added_sqnr_db=None
        if previous is None
        else added_sqnr_db(previous.worse_sqnr_db, min(figures.sqnr_db, figures.feature_sqnr_db)),
        cosine=figures.cosine,
        max_abs_error=figures.max_abs_error,
        mean_abs_error=figures.mean_abs_error,
        rmse_over_scale=figures.rmse_over_scale,
    )


def _mark_worst(rows: list[LayerRow]) -> list[LayerRow]:
    from dataclasses import replace

    candidates = [r for r in rows if r.added_sqnr_db is not None and r.added_sqnr_db < WORST_BELOW_DB]
    if not candidates:
        return rows
    worst = min(candidates, key=lambda r: (r.added_sqnr_db, r.sqnr_db))
    return [replace(r, worst=True) if r is worst else r for r in rows]
