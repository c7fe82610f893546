"""The main job: train each model, convert it to every format and mode, benchmark everything.

Finished steps are reused when their inputs have not changed (training: same config and data; a
conversion: same source model, calibration and mode), unless ``force``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekit.benchmarks import BenchConfig, BenchReport, Thresholds, bench
from edgekit.convert import ConversionResult, convert_all
from edgekit.convert.core import DEFAULT_CALIBRATION_SAMPLES
from edgekit.data import Dataset, load_dataset
from edgekit.formats import FORMATS, Format, Quantization, expand
from edgekit.layout import artifact_name as artifact_stem
from edgekit.files import ensure_dir, sha256_file, write_bytes_atomic, write_json_atomic
from edgekit.models import get_model_spec
from edgekit.progress import Reporter, SilentReporter
from edgekit.train import TrainConfig, train


@dataclass(frozen=True)
class ModelOutcome:
    """What the pipeline did for one model."""

    model: str
    run_dir: Path
    trained: bool  # False: a finished run with the same inputs was reused
    converted: tuple[str, ...]
    reused_artifacts: tuple[str, ...]
    parity_failures: tuple[str, ...]
    bench: BenchReport


@dataclass(frozen=True)
class PipelineResult:
    """The whole main job."""

    out_dir: Path
    outcomes: tuple[ModelOutcome, ...]
    summary_markdown: Path
    summary_json: Path
    seconds: float

    @property
    def breaches(self) -> list[dict[str, Any]]:
        return [b for o in self.outcomes for b in o.bench.breaches]


def _training_reusable(run_dir: Path, config: TrainConfig, dataset: Dataset) -> bool:
    manifest_path, model_path = run_dir / "manifest.json", run_dir / "model.keras"
    if not (manifest_path.is_file() and model_path.is_file()):
        return False
    manifest = json.loads(manifest_path.read_text())
    recorded = manifest.get("dataset", {})
    return (manifest.get("config") == asdict(config)
            and manifest.get("model_sha256") == sha256_file(model_path)
            and recorded.get("source") == dataset.source and recorded.get("location") == dataset.location
            and recorded.get("sizes") == dataset.to_dict()["sizes"])


def _conversion_reusable(folder: Path, fmt: Format, mode: Quantization, model_sha: str, calibration: int) -> bool:
    stem = artifact_stem(fmt, mode)
    artifact, sidecar = folder / f"{stem}{FORMATS[fmt].suffix}", folder / f"{stem}.json"
    if not (artifact.is_file() and sidecar.is_file()):
        return False
    manifest = json.loads(sidecar.read_text())
    same_calibration = not mode.needs_calibration or (manifest.get("calibration") or {}).get("count") == calibration
    return (manifest.get("source_model", {}).get("sha256") == model_sha and manifest.get("sha256") == sha256_file(artifact)
            and same_calibration and (manifest.get("parity") or {}).get("ok") is True)


def run_pipeline(
    models: list[str],
    dataset_name: str,
    out_dir: Path,
    *,
    force: bool = False,
    epochs: int | None = None,
    max_train_images: int | None = None,
    seed: int = 0,
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
    bench_config: BenchConfig | None = None,
    thresholds: Thresholds | None = None,
    data_dir: Path | None = None,
    offline: bool | None = None,
    reporter: Reporter | None = None,
) -> PipelineResult:
    """Train, convert and benchmark each model under ``out_dir``; write a summary report there."""
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    specs = [get_model_spec(m) for m in models]  # unknown names fail before any work
    configs = [TrainConfig(model=s.name, dataset=dataset_name, epochs=epochs or s.default_epochs, seed=seed,
                           learning_rate=s.learning_rate, max_train_images=max_train_images) for s in specs]
    for config in configs:
        config.validate()
    (bench_config or BenchConfig()).validate()
    out = ensure_dir(Path(out_dir))
    dataset = load_dataset(dataset_name, data_dir, offline=offline, reporter=reporter)
    pairs = expand(["all"], ["all"])
    outcomes = []
    for config in configs:
        run_dir = out / f"{config.model}-{dataset.name}"
        trained = force or not _training_reusable(run_dir, config, dataset)
        if trained:
            train(config, run_dir, dataset=dataset, reporter=reporter)
        else:
            reporter.notice(f"{config.model}: reusing the finished training run in {run_dir}")
        model_sha = sha256_file(run_dir / "model.keras")
        artifacts = run_dir / "artifacts"
        todo = [(f, m) for f, m in pairs
                if force or not _conversion_reusable(artifacts, f, m, model_sha, calibration_samples)]
        reused = tuple(artifact_stem(f, m) for f, m in pairs if (f, m) not in todo)
        if reused:
            reporter.notice(f"{config.model}: reusing {len(reused)} unchanged artifact(s)")
        results: list[ConversionResult] = []
        if todo:
            results = convert_all(run_dir, todo, calibration_samples=calibration_samples, overwrite=True,
                                  data_dir=data_dir, offline=offline, reporter=reporter, dataset=dataset)
        failures = tuple(f"{r.name}: {'; '.join(r.parity_failures)}" for r in results if r.parity_failures)
        report = bench(run_dir, bench_config, thresholds=thresholds, data_dir=data_dir, offline=offline,
                       reporter=reporter, dataset=dataset)
        outcomes.append(ModelOutcome(config.model, run_dir, trained, tuple(r.name for r in results), reused,
                                     failures, report))
    seconds = time.perf_counter() - started
    md_path, json_path = out / "report.md", out / "report.json"
    write_bytes_atomic(md_path, _summary_markdown(outcomes, seconds).encode("utf-8"))
    write_json_atomic(json_path, {
        "schema": "edgekit.run", "schema_version": 1, "seconds": round(seconds, 2),
        "models": [{"model": o.model, "run_dir": str(o.run_dir), "trained": o.trained, "converted": list(o.converted),
                    "reused_artifacts": list(o.reused_artifacts), "parity_failures": list(o.parity_failures),
                    "bench_report": str(o.bench.json_path), "breaches": list(o.bench.breaches)} for o in outcomes],
    })
    return PipelineResult(out, tuple(outcomes), md_path, json_path, round(seconds, 2))


def _summary_markdown(outcomes: list[ModelOutcome], seconds: float) -> str:
    lines = [f"# edgekit run ({seconds:.0f} s)", ""]
    for o in outcomes:
        rel = o.bench.markdown_path
        lines += [f"- **{o.model}**: {'trained' if o.trained else 'training reused'}, "
                  f"{len(o.converted)} converted, {len(o.reused_artifacts)} reused; report `{rel}`"]
    lines.append("")
    for o in outcomes:  # plot links in a bench report are relative to its own folder
        prefix = f"{o.run_dir.name}/{o.bench.out_dir.name}/" if o.bench.out_dir.parent == o.run_dir else ""
        lines += [o.bench.markdown_path.read_text().replace("](", f"]({prefix}"), ""]
    return "\n".join(lines)
