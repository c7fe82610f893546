"""``explain()``: which layer caused the drift, for every artifact of a model, against its Keras layers.

Steps: find the artifacts; load the reference and its contract; draw the debug set (held-out test images,
deterministic, through ``Contract.model_input``); tap every Keras layer once (golden capture); capture,
map and compare every artifact; write explain.md, explain.json, the plot and one Model Explorer overlay
per artifact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.contract import DeclaredContract
from edgekit.convert.inputs import SELECTION_SEED, DataSources, pick
from edgekit.errors import ArtifactError, DataError, UsageError
from edgekit.explain.artifact import ArtifactExplanation, explain_artifact
from edgekit.explain.result import ExplainResult
from edgekit.formats import format_of_path
from edgekit.layout import EXPLAIN_DIR, RunLayout, artifacts_in, named_artifacts
from edgekit.progress import Reporter, SilentReporter

DEFAULT_SAMPLES = 256


@dataclass(frozen=True)
class ExplainConfig:
    """What to explain and where to write it; validated before TensorFlow loads."""

    artifacts: tuple[str, ...] = ()  # names (tflite-int8) or paths; default: every artifact beside the model
    samples: int = DEFAULT_SAMPLES  # held-out test images in the debug set
    out_dir: Path | None = None  # default: RUN_DIR/explain, or explain/ beside a model file
    plots: bool = True
    declared: DeclaredContract = field(default_factory=DeclaredContract)

    def validate(self) -> None:
        if self.samples < 1:
            raise UsageError(f"--samples must be at least 1, got {self.samples}")


def artifacts_beside(source: Path) -> Path:
    """Where a model's artifacts are: the run's artifacts/, or artifacts/ beside a model file."""
    from edgekit.convert.artifacts import default_artifacts_dir

    return default_artifacts_dir(source)


def find_artifacts(source: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The artifacts named (names or paths), or every artifact beside the model, in format-table order."""
    folder = artifacts_beside(source)
    if wanted:
        return named_artifacts(folder, wanted)
    found = artifacts_in(folder)
    if not found:
        raise ArtifactError(f"no artifacts in {folder}", f"run `edgekit convert {source}` first, or name them")
    return found


def default_out_dir(source: Path) -> Path:
    layout = RunLayout(Path(source))
    return layout.explain_dir if layout.is_run_folder() else Path(source).parent / EXPLAIN_DIR


def explain(
    source: Path,
    config: ExplainConfig | None = None,
    *,
    sources: DataSources | None = None,
    reporter: Reporter | None = None,
) -> ExplainResult:
    """Explain every artifact of ``source`` (a run folder or a Keras model file) layer by layer."""
    config, reporter = config or ExplainConfig(), reporter or SilentReporter()
    config.validate()
    started, source = time.perf_counter(), Path(source)
    paths = find_artifacts(source, config.artifacts)
    from edgekit.convert.inputs import load_inputs
    from edgekit.convert.reference import load_reference
    from edgekit.explain.golden import capture_keras

    reference = load_reference(source)
    prepared = load_inputs(reference, sources or DataSources(), config.declared, reporter)
    reporter.notice(f"contract: {prepared.contract.describe()}")
    test = prepared.dataset.test
    if config.samples > len(test):
        raise DataError(
            f"--samples {config.samples} is more than the {len(test)} held-out images",
            f"pass --samples {len(test)} or fewer",
        )
    index = pick(config.samples, len(test), "debug")
    golden = capture_keras(reference.keras_model, prepared.contract.model_input(test.images[index]))
    explanations = _explain_each(golden, paths, reference.sha256, reporter)
    dataset = {"name": prepared.dataset.name, "split": "test", "images": len(index), "selection_seed": SELECTION_SEED}
    layers = tuple((layer.name, layer.kind) for layer in golden.layers)
    out_dir = Path(config.out_dir or default_out_dir(source))
    result = ExplainResult(str(source), dataset, layers, tuple(explanations), golden.skipped, 0.0, out_dir, {})
    from edgekit.explain.report import write_outputs

    return write_outputs(result, plots=config.plots, seconds=round(time.perf_counter() - started, 2))


def _explain_each(golden: Any, paths: list[Path], source_sha256: str, reporter: Reporter) -> list[ArtifactExplanation]:
    from edgekit.runtime import load

    explanations = []
    reporter.start("explaining", len(paths))
    try:
        for path in paths:
            fmt = format_of_path(path.name)
            assert fmt is not None  # find_artifacts keeps only files with a known suffix
            metadata = load(path).metadata  # loading also checks the file
            if metadata.get("source_model_sha256") not in (None, source_sha256):
                reporter.notice(f"{path.name} was converted from another model (sha256 differs): expect large errors")
            mode = str(metadata.get("mode", "unknown"))
            explanations.append(explain_artifact(golden, fmt, path.read_bytes(), path.stem, mode))
            reporter.advance(1, path.stem)
    finally:
        reporter.finish()
    return explanations
