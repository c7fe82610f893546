"""The main job: train each model, convert it to every format and mode, benchmark everything.

Finished steps are reused when their inputs have not changed (training: same config and data; a
conversion: same source model, calibration and mode), unless ``force``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgekit.benchmarks import BenchConfig, BenchResult, Breach, Thresholds, bench
from edgekit.convert import ConversionResult, ConvertOptions, DataSources, artifact_is_current
from edgekit.data import Dataset, load_dataset
from edgekit.errors import ParityError, UsageError
from edgekit.files import ensure_dir, sha256_file, write_bytes_atomic, write_json_atomic
from edgekit.formats import expand
from edgekit.layout import RunLayout, RunsLayout, artifact_name
from edgekit.models import MODELS, get_model_spec
from edgekit.progress import Reporter, SilentReporter
from edgekit.train import TrainConfig, train
from edgekit.train.fit import training_is_current


@dataclass(frozen=True)
class ModelOutcome:
    """What the pipeline did for one model."""

    model: str
    run_dir: Path
    trained: bool  # False: a finished run with the same inputs was reused
    converted: tuple[str, ...]
    reused_artifacts: tuple[str, ...]
    parity_failures: tuple[str, ...]
    bench: BenchResult


@dataclass(frozen=True)
class PipelineResult:
    """The whole main job."""

    out_dir: Path
    outcomes: tuple[ModelOutcome, ...]
    summary_markdown: Path
    summary_json: Path
    seconds: float

    @property
    def parity_failures(self) -> list[str]:
        return [f for o in self.outcomes for f in o.parity_failures]

    def raise_for_parity(self) -> None:
        """ParityError naming every artifact outside its band (the artifacts and reports stay written)."""
        if self.parity_failures:
            raise ParityError(
                "parity check failed: " + " | ".join(self.parity_failures), "the reports show the drift in full"
            )

    @property
    def breaches(self) -> list[Breach]:
        return [b for o in self.outcomes for b in o.bench.breaches]


@dataclass(frozen=True)
class PipelineConfig:
    """What the main job does; validated before anything heavy is loaded."""

    models: tuple[str, ...]
    dataset: str = "mnist"
    force: bool = False
    epochs: int | None = None
    max_train_images: int | None = None
    seed: int = 0
    convert: ConvertOptions = field(default_factory=ConvertOptions)
    bench: BenchConfig = field(default_factory=BenchConfig)

    def train_configs(self) -> list[TrainConfig]:
        """One training config per model, each validated (unknown names and bad counts fail here)."""
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise UsageError(
                f"unknown model(s) {', '.join(unknown) or '(none given)'}",
                f"--models takes a comma list of: {', '.join(MODELS)}",
            )
        specs = [get_model_spec(m) for m in self.models]
        configs = [
            TrainConfig(
                model=s.name,
                dataset=self.dataset,
                epochs=s.default_epochs if self.epochs is None else self.epochs,
                seed=self.seed,
                learning_rate=s.learning_rate,
                max_train_images=self.max_train_images,
            )
            for s in specs
        ]
        for config in configs:
            config.validate()
        return configs

    def validate(self) -> None:
        self.train_configs()
        self.convert.validate()
        self.bench.validate()


def run_pipeline(
    config: PipelineConfig,
    out_dir: Path,
    *,
    thresholds: Thresholds | None = None,
    sources: DataSources | None = None,
    reporter: Reporter | None = None,
) -> PipelineResult:
    """Train, convert and benchmark each model under ``out_dir``; write a summary report there."""
    reporter = reporter or SilentReporter()
    started = time.perf_counter()
    config.validate()
    (thresholds or Thresholds()).validate()
    sources = sources or DataSources()
    runs = RunsLayout(ensure_dir(Path(out_dir)))
    dataset = load_dataset(config.dataset, sources.data_dir, offline=sources.offline, reporter=reporter)
    shared = _Shared(config, dataset, replace(sources, preloaded=dataset), thresholds, reporter)
    outcomes = [
        _one_model(train_config, runs.run(train_config.model, dataset.name), shared)
        for train_config in config.train_configs()
    ]
    seconds = time.perf_counter() - started
    write_bytes_atomic(runs.summary_markdown, _summary_markdown(outcomes, seconds).encode("utf-8"))
    write_json_atomic(
        runs.summary_json,
        {
            "schema": "edgekit.run",
            "schema_version": 1,
            "seconds": round(seconds, 2),
            "models": [
                {
                    "model": o.model,
                    "run_dir": str(o.run_dir),
                    "trained": o.trained,
                    "converted": list(o.converted),
                    "reused_artifacts": list(o.reused_artifacts),
                    "parity_failures": list(o.parity_failures),
                    "bench_report": str(o.bench.json_path),
                    "breaches": [b.to_dict() for b in o.bench.breaches],
                }
                for o in outcomes
            ],
        },
    )
    return PipelineResult(runs.root, tuple(outcomes), runs.summary_markdown, runs.summary_json, round(seconds, 2))


@dataclass(frozen=True)
class _Shared:
    """What every model of one pipeline run shares."""

    config: PipelineConfig
    dataset: Dataset
    sources: DataSources  # with the dataset preloaded
    thresholds: Thresholds | None
    reporter: Reporter


def _one_model(train_config: TrainConfig, layout: RunLayout, shared: _Shared) -> ModelOutcome:
    config, dataset, sources, reporter = shared.config, shared.dataset, shared.sources, shared.reporter
    trained = config.force or not training_is_current(layout, train_config, dataset)
    if trained:
        train(train_config, layout.root, sources=DataSources(preloaded=dataset), reporter=reporter, overwrite=True)
    else:
        reporter.notice(f"{train_config.model}: reusing the finished training run in {layout.root}")
    model_sha = sha256_file(layout.model_path)
    pairs = expand(["all"], ["all"])
    todo = [
        (f, m)
        for f, m in pairs
        if config.force or not artifact_is_current(layout.artifact_path(f, m), model_sha, config.convert, m, f)
    ]
    reused = tuple(artifact_name(f, m) for f, m in pairs if (f, m) not in todo)
    if reused:
        reporter.notice(f"{train_config.model}: reusing {len(reused)} unchanged artifact(s)")
    results: list[ConversionResult] = []
    if todo:
        options = replace(config.convert, overwrite=True, out_dir=None)
        from edgekit.workflows import convert_all

        results = convert_all(layout.root, todo, options, sources=sources, reporter=reporter)
    failures = tuple(f"{r.name}: {'; '.join(r.parity_failures)}" for r in results if r.parity_failures)
    report = bench(layout.root, config.bench, thresholds=shared.thresholds, sources=sources, reporter=reporter)
    return ModelOutcome(
        train_config.model, layout.root, trained, tuple(r.name for r in results), reused, failures, report
    )


def _summary_markdown(outcomes: list[ModelOutcome], seconds: float) -> str:
    lines = [f"# edgekit run ({seconds:.0f} s)", ""]
    for o in outcomes:
        rel = o.bench.markdown_path
        lines += [
            f"- **{o.model}**: {'trained' if o.trained else 'training reused'}, "
            f"{len(o.converted)} converted, {len(o.reused_artifacts)} reused; report `{rel}`"
        ]
    lines.append("")
    for o in outcomes:  # plot links in a bench report are relative to its own folder
        prefix = f"{o.run_dir.name}/{o.bench.out_dir.name}/" if o.bench.out_dir.parent == o.run_dir else ""
        lines += [o.bench.markdown_path.read_text().replace("](", f"]({prefix}"), ""]
    return "\n".join(lines)
