"""What ``explain()`` returns, and the schema of explain.json: read by the core that makes it and the report
that writes it (a module of its own, so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.explain.artifact import ArtifactExplanation

SCHEMA_KIND, SCHEMA_VERSION = "edgekit.explain", 1


@dataclass(frozen=True)
class ExplainResult:
    """Every artifact explained, and where the files are."""

    model: str
    dataset: dict[str, Any]  # name, split, images, selection seed
    layers: tuple[tuple[str, str], ...]  # every tapped Keras layer in model order: (name, Keras class)
    explanations: tuple[ArtifactExplanation, ...]
    skipped_layers: tuple[tuple[str, str], ...]  # Keras layers that cannot be tapped, and why
    seconds: float
    out_dir: Path
    files: dict[str, str]  # what -> file name in out_dir

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_KIND,
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "dataset": self.dataset,
            "layers": [{"layer": name, "kind": kind} for name, kind in self.layers],
            "seconds": self.seconds,
            "artifacts": [e.to_dict() for e in self.explanations],
            "records": [r.to_dict() for e in self.explanations for r in e.rows],
            "unmatched": [
                {"artifact": e.name, "layer": u.layer, "reason": u.reason}
                for e in self.explanations
                for u in e.unmatched
            ],
            "skipped_layers": [{"layer": name, "reason": why} for name, why in self.skipped_layers],
            "files": dict(self.files),
        }
