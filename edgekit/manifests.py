"""Typed manifests: the training run's manifest.json and every artifact's sidecar.

Writers build these dataclasses and call ``to_dict()``; readers call ``from_dict()`` and use fields,
never string keys. A manifest that is missing, truncated or from another schema reads as ``None``
("redo this step"), with the reason kept for a one-line notice.
Imports nothing heavy: the runtime reads artifact manifests too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from edgekit.contract import Contract, from_legacy_metadata
from edgekit.errors import EdgekitError
from edgekit.layout import MODEL_FILE, RunLayout

RUN_KIND, ARTIFACT_KIND = "edgekit.train", "edgekit.artifact"
RUN_SCHEMA_VERSION = 2  # 2: adds the contract and training-image fingerprints
ARTIFACT_SCHEMA_VERSION = 3  # 2: adds the contract and the evaluation note; 3: the content seal
CONTENT_KEY = (
    "content_sha256"  # the seal: the file's sha256 with this field set to PLACEHOLDER (runtime.safety.integrity)
)
PLACEHOLDER = "0" * 64
MAX_MANIFEST_BYTES = 16 << 20  # manifests are a few KiB; a bigger file is damaged, not read
T = TypeVar("T")


def read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the JSON object in a file, None) or (None, why it could not be read)."""
    path = Path(path)
    try:
        if path.exists() and (not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES):
            return None, f"{path} is damaged (not a regular file of at most {MAX_MANIFEST_BYTES >> 20} MiB)"
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"{path} is damaged ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, f"{path} does not hold a JSON object"
    return data, None


@dataclass(frozen=True)
class RunManifest:
    """What a finished training run recorded (manifest.json, written last)."""

    config: dict[str, Any]
    model: str
    dataset: dict[str, Any]
    params: int
    epochs_run: int
    best_epoch: int
    metrics: dict[str, float]
    seconds: float
    device: str
    model_sha256: str
    model_bytes: int
    contract: Contract
    versions: dict[str, str]
    finished_at: str
    files: dict[str, str] = field(default_factory=dict)
    fingerprints_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.contract
        return {
            "kind": RUN_KIND,
            "schema_version": RUN_SCHEMA_VERSION,
            "config": self.config,
            "model": self.model,
            "dataset": self.dataset,
            "params": self.params,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "metrics": self.metrics,
            "seconds": self.seconds,
            "device": self.device,
            "model_file": MODEL_FILE,
            "model_sha256": self.model_sha256,
            "model_bytes": self.model_bytes,
            "input": {"shape": [None, *c.input_shape], "dtype": "float32"},
            "output": {"shape": [None, c.num_classes], "dtype": "float32", "kind": c.output_kind.value},
            "class_names": list(c.class_names),
            "preprocessing": c.preprocessing.to_dict(),
            "contract": c.to_dict(),
            "files": self.files,
            "fingerprints_file": self.fingerprints_file,
            "versions": self.versions,
            "finished_at": self.finished_at,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RunManifest:
        """Parse a manifest; a KeyError/TypeError/ModelError means it is not one this edgekit wrote."""
        if data.get("kind") != RUN_KIND:
            raise KeyError("kind")
        contract = (
            Contract.from_dict(data["contract"])
            if "contract" in data
            else from_legacy_metadata(data, tuple(d for d in data.get("input", {}).get("shape", [None, 28, 28])[1:]))
        )
        return RunManifest(
            config=dict(data["config"]),
            model=str(data["model"]),
            dataset=dict(data["dataset"]),
            params=int(data["params"]),
            epochs_run=int(data["epochs_run"]),
            best_epoch=int(data["best_epoch"]),
            metrics=dict(data["metrics"]),
            seconds=float(data["seconds"]),
            device=str(data["device"]),
            model_sha256=str(data["model_sha256"]),
            model_bytes=int(data["model_bytes"]),
            contract=contract,
            versions=dict(data.get("versions") or {}),
            finished_at=str(data.get("finished_at", "")),
            files=dict(data.get("files") or {}),
            fingerprints_file=data.get("fingerprints_file"),
        )


def read_run_manifest(layout: RunLayout) -> RunManifest | None:
    """The finished run's manifest, or None when there is none or it is damaged."""
    return _parsed(layout.manifest_path, RunManifest.from_dict)[0]


def run_manifest_damage(layout: RunLayout) -> str | None:
    """Why a run's manifest.json that exists cannot be read ("... is damaged (JSONDecodeError)"), else None."""
    return _parsed(layout.manifest_path, RunManifest.from_dict)[1] if layout.manifest_path.exists() else None


def _parsed(path: Path, parse: Callable[[Mapping[str, Any]], T]) -> tuple[T | None, str | None]:
    """(the parsed manifest, None) or (None, why not): missing, truncated, not JSON, not one edgekit wrote."""
    data, why = read_json(path)
    if data is None:
        return None, why
    try:
        return parse(data), None
    except (KeyError, TypeError, ValueError, AttributeError, EdgekitError) as exc:
        return None, f"{path} is not a manifest this edgekit reads ({type(exc).__name__} {str(exc)[:80]})"


@dataclass(frozen=True)
class ArtifactManifest:
    """An artifact's sidecar: what it is, where it came from, how it was checked.

    ``essentials()`` is the part embedded in the model file itself, enough for a device.
    """

    format: str
    mode: str
    file: str
    sha256: str
    size_bytes: int
    contract: Contract
    source_model: dict[str, str]  # path, sha256, kind
    input: dict[str, Any]
    output: dict[str, Any]
    edgekit_version: str
    versions: dict[str, str]
    created_at: str
    calibration: dict[str, Any] | None = None
    parity: dict[str, Any] | None = None
    evaluation_note: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # converter options that change the artifact
    opset: int | None = None
    quantization: dict[str, Any] | None = None  # ONNX dynamic: the scheme, nodes quantized, nodes kept float and why
    conversion_seconds: float = 0.0
    runtime: str = ""
    dataset: str = ""
    content_sha256: str = ""  # the seal written into the embedded copy; empty until the file is sealed

    def essentials(self) -> dict[str, Any]:
        """What travels inside the model file."""
        c = self.contract
        return {
            "kind": ARTIFACT_KIND,
            "schema_version": ARTIFACT_SCHEMA_VERSION,
            "edgekit_version": self.edgekit_version,
            "format": self.format,
            "mode": self.mode,
            "contract": c.to_dict(),
            "class_names": list(c.class_names),
            "output_kind": c.output_kind.value,
            "preprocessing": c.preprocessing.to_dict(),
            "dataset": self.dataset,
            "source_model_sha256": self.source_model.get("sha256"),
            "calibration": self.calibration,
            "options": self.options,
            CONTENT_KEY: self.content_sha256 or PLACEHOLDER,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.essentials(),
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "runtime": self.runtime,
            "source_model": self.source_model,
            "input": self.input,
            "output": self.output,
            "opset": self.opset,
            "quantization": self.quantization,
            "conversion_seconds": self.conversion_seconds,
            "parity": self.parity,
            "evaluation_note": self.evaluation_note,
            "versions": self.versions,
            "created_at": self.created_at,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ArtifactManifest:
        if data.get("kind") != ARTIFACT_KIND:
            raise KeyError("kind")
        contract = Contract.from_dict(data["contract"]) if "contract" in data else from_legacy_metadata(data, (28, 28))
        return ArtifactManifest(
            format=str(data["format"]),
            mode=str(data["mode"]),
            file=str(data["file"]),
            sha256=str(data["sha256"]),
            size_bytes=int(data["size_bytes"]),
            contract=contract,
            source_model=dict(data["source_model"]),
            input=dict(data.get("input") or {}),
            output=dict(data.get("output") or {}),
            edgekit_version=str(data.get("edgekit_version", "")),
            versions=dict(data.get("versions") or {}),
            created_at=str(data.get("created_at", "")),
            calibration=data.get("calibration"),
            parity=data.get("parity"),
            evaluation_note=data.get("evaluation_note"),
            options=dict(data.get("options") or {}),
            opset=data.get("opset"),
            quantization=data.get("quantization"),
            conversion_seconds=float(data.get("conversion_seconds", 0.0)),
            runtime=str(data.get("runtime", "")),
            dataset=str(data.get("dataset", "")),
            content_sha256=str(data.get(CONTENT_KEY) or ""),
        )


def read_artifact_manifest(sidecar: Path) -> ArtifactManifest | None:
    """An artifact's sidecar, or None when there is none or it is damaged."""
    return _parsed(sidecar, ArtifactManifest.from_dict)[0]


def sidecar_damage(sidecar: Path) -> str | None:
    """Why a sidecar that exists cannot be read, else None (also None when there is no sidecar)."""
    return _parsed(sidecar, ArtifactManifest.from_dict)[1] if Path(sidecar).exists() else None
