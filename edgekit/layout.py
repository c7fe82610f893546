"""The run folder: every path and artifact name edgekit writes, defined once.

    edgekit-runs/                    RunsLayout: one folder per model, plus the main job's summary
      report.md, report.json
      cnn-mnist/                     RunLayout
        model.keras                  the Keras reference
        manifest.json                written last: a folder without it holds no finished run
        history.json, curves.png, test-predictions.png
        train-fingerprints.npy       hashes of the training images (to detect evaluation overlap)
        artifacts/
          tflite-int8.tflite         artifact_name(format, mode) + the format's suffix
          tflite-int8.json           its sidecar manifest
        bench/                       report.json, report.md, plots
        .training.HOST-PID.XXXX.partial/   while training writes: the new run's files, moved in when complete
        explain/                     explain.md, explain.json, sqnr-by-layer.png,
                                     ARTIFACT.model-explorer.json (an overlay per artifact)

Nothing else in edgekit spells these names out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import ArtifactError
from edgekit.formats import FORMATS, Format, Quantization, format_of_path

DEFAULT_RUNS_DIR = Path("edgekit-runs")
SIDECAR_SUFFIX = ".json"
MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"
ARTIFACTS_DIR = "artifacts"
BENCH_DIR = "bench"
TRAINING_STAGING = "training"  # the stem of the hidden folder a training run is written into first
EXPLAIN_DIR = "explain"


def artifact_name(fmt: Format, mode: Quantization) -> str:
    """The stem an artifact and its sidecar share, e.g. 'tflite-int8'."""
    return f"{fmt.value}-{mode.label}"


def artifact_file_name(fmt: Format, mode: Quantization) -> str:
    """'tflite-int8.tflite'."""
    return artifact_name(fmt, mode) + FORMATS[fmt].suffix


def sidecar_path(artifact: Path) -> Path:
    """The JSON manifest beside an artifact."""
    return Path(artifact).with_suffix(SIDECAR_SUFFIX)


def all_artifact_file_names() -> list[str]:
    """Every artifact file name edgekit can write, in format-table order (int8-mixed after each format's modes)."""
    return [artifact_file_name(f, m) for f, spec in FORMATS.items() for m in spec.produced_modes]


def artifacts_in(folder: Path) -> list[Path]:
    """The artifacts edgekit names (tflite-int8.tflite, ...) that exist in ``folder``, in format-table order."""
    return [folder / n for n in all_artifact_file_names() if (folder / n).is_file()]


def named_artifacts(folder: Path, items: Sequence[str | Path]) -> list[Path]:
    """Artifacts named by edgekit name (tflite-int8, looked up in ``folder``) or by path; one that is not there
    is an ArtifactError listing what ``folder`` holds."""
    stems = {n.rsplit(".", 1)[0]: n for n in all_artifact_file_names()}
    paths = []
    for item in items:
        path = Path(item) if format_of_path(str(item)) else folder / stems.get(str(item), f"{item}.?")
        if not path.is_file():
            available = ", ".join(p.stem for p in artifacts_in(folder)) or "none"
            raise ArtifactError(f"artifact {item} not found ({path})", f"available in {folder}: {available}")
        paths.append(path)
    return paths


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder."""

    root: Path

    @property
    def model_path(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def history_path(self) -> Path:
        return self.root / "history.json"

    @property
    def curves_path(self) -> Path:
        return self.root / "curves.png"

    @property
    def samples_path(self) -> Path:
        return self.root / "test-predictions.png"

    @property
    def fingerprints_path(self) -> Path:
        return self.root / "train-fingerprints.npy"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / ARTIFACTS_DIR

    @property
    def bench_dir(self) -> Path:
        return self.root / BENCH_DIR

    @property
    def explain_dir(self) -> Path:
        return self.root / EXPLAIN_DIR

    def artifact_path(self, fmt: Format, mode: Quantization, folder: Path | None = None) -> Path:
        """Where the (format, mode) artifact lives: in ``folder`` when given, else in artifacts/."""
        return (folder or self.artifacts_dir) / artifact_file_name(fmt, mode)

    def existing_artifacts(self) -> list[Path]:
        """The run's artifacts that exist, in format-table order."""
        return artifacts_in(self.artifacts_dir)

    def is_run_folder(self) -> bool:
        return self.root.is_dir() and self.model_path.is_file()


@dataclass(frozen=True)
class RunsLayout:
    """The folder `edgekit run` fills: one run folder per model, and a summary report."""

    root: Path = DEFAULT_RUNS_DIR

    def finished_runs(self) -> list[RunLayout]:
        """The run folders directly inside, that hold a finished run (sorted by name)."""
        if not self.root.is_dir():
            return []
        return [RunLayout(d) for d in sorted(self.root.iterdir()) if RunLayout(d).manifest_path.is_file()]

    def run(self, model: str, dataset: str) -> RunLayout:
        return RunLayout(self.root / f"{model}-{dataset}")

    @property
    def summary_markdown(self) -> Path:
        return self.root / "report.md"

    @property
    def summary_json(self) -> Path:
        return self.root / "report.json"


@dataclass(frozen=True)
class ExplainLayout:
    """The files `edgekit explain` writes into its folder (default: RUN_DIR/explain)."""

    root: Path

    @property
    def markdown(self) -> Path:
        return self.root / "explain.md"

    @property
    def json(self) -> Path:
        return self.root / "explain.json"

    @property
    def plot(self) -> Path:
        return self.root / "sqnr-by-layer.png"

    def overlay(self, artifact: str) -> Path:
        """The Model Explorer node-data overlay of one artifact ('tflite-int8' -> tflite-int8.model-explorer.json)."""
        return self.root / f"{artifact}.model-explorer.json"
