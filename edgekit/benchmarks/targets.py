"""What `edgekit bench` measures, in the three forms people have it:

- a run folder (``model.keras`` beside ``artifacts/``): the Keras model and the run's artifacts (or the ones
  named);
- a Keras model file (``.keras``, ``.h5``) or SavedModel folder, then artifact files: the model is the
  reference (without artifact files, the ``artifacts/`` folder ``edgekit convert`` writes beside it);
- artifact files alone (or a folder of them): no Keras reference; drift is measured against the first
  float32 artifact (or the first artifact, when none is float32), and the report says so.

Every error names a command that would help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import ArtifactError, UsageError
from edgekit.formats import FORMATS, format_of_path
from edgekit.layout import ARTIFACTS_DIR, RunLayout, artifacts_in, named_artifacts

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
USAGE = "edgekit bench RUN_DIR | edgekit bench MODEL.keras ARTIFACT... | edgekit bench ARTIFACT..."


@dataclass(frozen=True)
class BenchTarget:
    """The reference (a run folder, a model file or SavedModel folder; None: artifacts alone) and the artifacts."""

    reference: Path | None
    artifacts: tuple[Path, ...]
    default_out: Path

    @property
    def form(self) -> str:
        if self.reference is None:
            return "artifacts"
        return "run" if RunLayout(self.reference).is_run_folder() else "model"


def _artifact_files(folder: Path) -> list[Path]:
    """The .tflite / .onnx files of a folder: edgekit's names in format-table order, then the others by name
    (hidden files, such as a killed convert's .NAME.partial.tflite, are not artifacts)."""
    ours = artifacts_in(folder)
    suffixes = tuple(spec.suffix for spec in FORMATS.values())
    try:
        listed = list(folder.iterdir())
    except OSError as exc:
        raise ArtifactError(f"cannot list the folder {folder}: {exc.strerror or exc}") from None
    others = sorted(
        p
        for p in listed
        if p.suffix.lower() in suffixes and not p.name.startswith(".") and p.is_file() and p not in ours
    )
    return ours + others


def _is_model(path: Path) -> bool:
    return (path.is_file() and path.suffix.lower() in MODEL_SUFFIXES) or (
        path.is_dir() and any((path / f).is_file() for f in SAVED_MODEL_FILES)
    )


def bench_target(target: Path, artifacts: Sequence[str | Path] = ()) -> BenchTarget:
    """Which form a command line names (see the module docstring); a mistake is one error with a hint."""
    target = Path(target)
    if not target.exists():
        raise UsageError(f"{target} does not exist", USAGE)
    if format_of_path(target.name) and target.is_file():
        return _artifacts_alone([target, *(Path(a) for a in artifacts)])
    run = RunLayout(target)
    if run.is_run_folder():
        found = named_artifacts(run.artifacts_dir, artifacts) if artifacts else run.existing_artifacts()
        if not found:
            raise ArtifactError(
                f"no artifacts in {run.artifacts_dir}", f"convert the model first: edgekit convert {target}"
            )
        return BenchTarget(target, tuple(found), run.bench_dir)
    if _is_model(target):
        return _model_and_artifacts(target, artifacts)
    if target.is_dir():
        return _folder(target, artifacts)
    raise UsageError(
        f"{target} is neither a run folder, a Keras model, a SavedModel nor a .tflite/.onnx artifact",
        USAGE,
    )


def _model_and_artifacts(model: Path, artifacts: Sequence[str | Path]) -> BenchTarget:
    beside = model.parent / ARTIFACTS_DIR
    found = [Path(a) for a in artifacts] or (_artifact_files(beside) if beside.is_dir() else [])
    if not found:
        raise ArtifactError(
            f"no artifacts to bench against {model}",
            f"name them (edgekit bench {model} model.tflite model.onnx) or convert first: edgekit convert {model}",
        )
    bad = [str(p) for p in found if not format_of_path(p.name)]
    if bad:
        raise UsageError(
            f"{', '.join(bad)}: not .tflite or .onnx artifacts", "the Keras model comes first, then artifacts"
        )
    missing = [str(p) for p in found if not p.is_file()]
    if missing:
        raise ArtifactError(f"artifact(s) not found: {', '.join(missing)}")
    return BenchTarget(model, tuple(found), model.parent / "bench")


def _artifacts_alone(paths: list[Path]) -> BenchTarget:
    not_artifacts = [str(p) for p in paths if not format_of_path(p.name)]
    if not_artifacts:
        raise UsageError(
            f"{', '.join(not_artifacts)}: not .tflite or .onnx artifacts",
            "to compare with a Keras model, name it first: edgekit bench model.keras a.tflite b.onnx",
        )
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ArtifactError(f"artifact(s) not found: {', '.join(missing)}")
    return BenchTarget(None, tuple(paths), paths[0].parent / "bench")


def _folder(folder: Path, artifacts: Sequence[str | Path]) -> BenchTarget:
    """A folder that is not a run: its artifacts alone (e.g. an artifacts/ folder copied from a run)."""
    found = _artifact_files(folder)
    if artifacts or not found:
        manifest = RunLayout(folder).manifest_path.is_file()
        raise ArtifactError(
            f"{folder} holds no {RunLayout(folder).model_path.name}"
            + (" (the training run is unfinished or was moved)" if manifest else "")
            + ("" if found else " and no .tflite/.onnx artifacts"),
            f"train into it (edgekit train --out {folder}), or bench a model and its artifacts: "
            "edgekit bench model.keras a.tflite b.onnx",
        )
    return BenchTarget(None, tuple(found), folder / "bench")
