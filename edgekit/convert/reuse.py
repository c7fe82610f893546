"""Whether an artifact already on disk can be kept: conversion owns this check (the pipeline asks it)."""

from __future__ import annotations

from pathlib import Path

from edgekit.convert.results import ConvertOptions
from edgekit.files import sha256_file
from edgekit.formats import Format, Quantization
from edgekit.layout import sidecar_path
from edgekit.manifests import read_artifact_manifest, sidecar_damage

__all__ = ["artifact_is_current", "unfinished_reason"]


def artifact_is_current(
    artifact: Path, source_sha256: str, options: ConvertOptions, mode: Quantization, fmt: Format
) -> bool:
    """Whether a finished artifact still matches its source model and options (conversion owns this check)."""
    manifest = read_artifact_manifest(sidecar_path(artifact))
    if manifest is None or not artifact.is_file():
        return False
    calibration = manifest.calibration or {}
    method = options.method_for(mode)
    same_calibration = not mode.needs_calibration or (
        calibration.get("count") == options.calibration_samples and calibration.get("method", "minmax") == method
    )
    return (
        manifest.source_model.get("sha256") == source_sha256
        and manifest.sha256 == sha256_file(artifact)
        and same_calibration
        and manifest.options == options.artifact_options(fmt, mode)
        and (manifest.parity or {}).get("ok") is True
    )


def unfinished_reason(artifact: Path) -> str | None:
    """Why an artifact that exists is not a finished one (its sidecar is damaged or describes another file)."""
    sidecar = sidecar_path(artifact)
    damage = sidecar_damage(sidecar)
    if damage is not None:
        return damage
    manifest = read_artifact_manifest(sidecar)
    if manifest is not None and artifact.is_file() and manifest.sha256 != sha256_file(artifact):
        return f"{sidecar} describes another file than {artifact.name} (sha256 differs)"
    return None
