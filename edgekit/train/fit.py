"""Fit a registry model on a dataset and save it, with its history, plots and manifest, as a run folder."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.contract import PIXEL_RANGE, Contract, OutputKind, Preprocessing, mnist_contract
from edgekit.data import Dataset, Split, check_trainable, fingerprints, load_data, load_dataset, stratified_subset
from edgekit.data.sources import DataSources
from edgekit.errors import OutputError, UsageError
from edgekit.files import atomic_path, ensure_dir, move_into, sha256_file, staging_dir, write_json_atomic
from edgekit.layout import TRAINING_STAGING, RunLayout
from edgekit.manifests import RunManifest, read_run_manifest, run_manifest_damage
from edgekit.models import get_model_spec
from edgekit.progress import Reporter, SilentReporter
from edgekit.tensorflow_import import describe_device, import_tensorflow
from edgekit.train.batches import epoch_reporter, shuffled_batches
from edgekit.train.config import TrainConfig
from edgekit.versions import library_versions

EARLY_STOPPING_PATIENCE = 10


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: where, and its manifest (the one record of what was measured)."""

    layout: RunLayout
    manifest: RunManifest

    run_dir = property(lambda self: self.layout.root)
    model_path = property(lambda self: self.layout.model_path)
    manifest_path = property(lambda self: self.layout.manifest_path)
    model = property(lambda self: self.manifest.model)
    dataset = property(lambda self: self.manifest.dataset)
    params = property(lambda self: self.manifest.params)
    epochs_run = property(lambda self: self.manifest.epochs_run)
    best_epoch = property(lambda self: self.manifest.best_epoch)
    metrics = property(lambda self: self.manifest.metrics)
    seconds = property(lambda self: self.manifest.seconds)
    device = property(lambda self: self.manifest.device)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "model_path": str(self.model_path),
            "manifest_path": str(self.manifest_path),
            **self.manifest.to_dict(),
        }


@dataclass(frozen=True)
class _Trained:
    """A fitted model and what fitting and evaluating it measured."""

    model: Any
    history: dict[str, list[float]]
    seconds: float
    metrics: dict[str, float]
    test_outputs: Any
    train_split: Split
    device: str


def train(
    config: TrainConfig,
    out_dir: Path,
    *,
    sources: DataSources | None = None,
    reporter: Reporter | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train ``config.model`` on ``config.dataset`` and write a complete run folder to ``out_dir``.

    Every file of the run is written into a hidden staging folder inside ``out_dir`` and moved into
    place only once all are complete, the manifest last (see :func:`edgekit.files.move_into`): until
    then a finished run already there stays intact and loadable, and an interruption leaves it so.
    A finished run is replaced only with ``overwrite`` (its artifacts would describe a model that no
    longer exists).
    """
    reporter = reporter or SilentReporter()
    config.validate()
    spec = get_model_spec(config.model)
    layout = RunLayout(Path(out_dir))
    _check_replaceable(layout, overwrite, reporter)
    ensure_dir(layout.root)
    dataset = _training_data(config, sources or DataSources(), reporter)
    train_split = _training_split(dataset, config)
    check_trainable(replace(dataset, train=train_split), len(dataset.class_names))
    contract = training_contract(dataset)
    _check_fits(spec, contract)

    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    device = describe_device()
    reporter.notice(f"training {config.model} on {device}")
    model, history, seconds = _fit(spec, config, contract, train_split, dataset, reporter)
    metrics, test_outputs = _evaluate(model, contract, train_split, dataset)
    trained = _Trained(model, history, seconds, metrics, test_outputs, train_split, device)
    return _write_run(layout, config, trained, dataset, contract)


def _check_replaceable(layout: RunLayout, overwrite: bool, reporter: Reporter) -> None:
    """A finished run is replaced only with ``overwrite``; a damaged manifest means: train again (said once)."""
    if not layout.manifest_path.exists():
        return
    damage = run_manifest_damage(layout)
    if damage is not None:
        reporter.notice(f"{damage}: the run there is not finished; training it again")
    elif not overwrite:
        raise OutputError(
            f"{layout.root} already holds a finished run",
            "pass --overwrite to train again there (its artifacts and bench reports then describe "
            "the old model), or choose another --out",
        )


def _training_data(config: TrainConfig, sources: DataSources, reporter: Reporter) -> Dataset:
    if sources.preloaded is not None:
        return sources.preloaded
    if config.data is not None:
        return load_data(config.data, reporter=reporter, offline=sources.offline)
    return load_dataset(config.dataset, sources.data_dir, offline=sources.offline, reporter=reporter)


def training_contract(dataset: Dataset) -> Contract:
    """The contract of a model edgekit trains on ``dataset``: its raw values mapped onto [0, 1], logits out."""
    shape, (low, high) = dataset.image_shape, dataset.value_range
    if shape == (28, 28) and (low, high) == PIXEL_RANGE:
        return mnist_contract(dataset.class_names)
    return Contract(
        input_shape=shape,
        class_names=tuple(dataset.class_names),
        preprocessing=Preprocessing.scaling(1.0 / (high - low), -low / (high - low) + 0.0),  # not -0
        output_kind=OutputKind.LOGITS,
        input_range=(low, high),
        sources={"preprocessing": "edgekit training: the data's value range onto [0, 1]"},
    )


def _check_fits(spec: Any, contract: Contract) -> None:
    if spec.images_only and (not contract.is_image or min(contract.image_size or (0,)) < 4):
        raise UsageError(
            f"{spec.name} needs images of at least 4x4 pixels; this data is {contract.input_shape}",
            "use --model dense for feature vectors and tiny images",
        )


def _training_split(dataset: Dataset, config: TrainConfig) -> Split:
    if config.max_train_images is None or config.max_train_images >= len(dataset.train):
        return dataset.train
    return stratified_subset(dataset.train, config.max_train_images, config.seed)


def _fit(
    spec: Any, config: TrainConfig, contract: Contract, train_split: Split, dataset: Dataset, reporter: Reporter
) -> tuple[Any, dict[str, list[float]], float]:
    import keras

    x_train, y_train = contract.model_input(train_split.images), train_split.labels.astype(np.int32)
    x_val, y_val = contract.model_input(dataset.validation.images), dataset.validation.labels.astype(np.int32)
    model = spec.build(config.seed, contract.input_shape, contract.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5),
        epoch_reporter(reporter, config.epochs),
    ]
    reporter.start(f"training {config.model}", config.epochs)
    started = time.perf_counter()
    try:
        history = model.fit(
            shuffled_batches(x_train, y_train, config),
            validation_data=(x_val, y_val),
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=0,
        )
    finally:
        reporter.finish()
    history_dict = {k: [float(v) for v in values] for k, values in history.history.items()}
    epochs_run = len(history_dict.get("loss", []))
    if epochs_run < config.epochs:
        reporter.notice(
            f"stopped early after {epochs_run} of {config.epochs} epochs (validation loss stopped "
            f"improving); the best epoch's weights are kept"
        )
    return model, history_dict, time.perf_counter() - started


def _evaluate(model: Any, contract: Contract, train_split: Split, dataset: Dataset) -> tuple[dict[str, float], Any]:
    def outputs(split: Split) -> Any:
        return model.predict(contract.model_input(split.images), batch_size=256, verbose=0)

    test_outputs = outputs(dataset.test)
    return {
        "train_accuracy": _accuracy(outputs(train_split), train_split.labels),
        "val_accuracy": _accuracy(outputs(dataset.validation), dataset.validation.labels),
        "test_accuracy": _accuracy(test_outputs, dataset.test.labels),
    }, test_outputs


def _write_run(
    layout: RunLayout, config: TrainConfig, trained: _Trained, dataset: Dataset, contract: Contract
) -> TrainResult:
    """Write the run into a staging folder, then move it into ``layout`` in one short step, manifest last."""
    with staging_dir(layout.root, TRAINING_STAGING) as staging:
        try:
            manifest = _write_files(RunLayout(staging), config, trained, dataset, contract)
        except OutputError as exc:  # name the file the user knows (run/model.keras), not the hidden staging one
            raise OutputError(exc.message.replace(str(staging), str(layout.root)), exc.hint) from None
        move_into(staging, layout.root, layout.manifest_path.name)
    return TrainResult(layout, manifest)


def _write_files(
    layout: RunLayout, config: TrainConfig, trained: _Trained, dataset: Dataset, contract: Contract
) -> RunManifest:
    history = trained.history
    val_losses = history.get("val_loss", [])
    epochs_run = len(history.get("loss", []))
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run
    with atomic_path(layout.model_path) as tmp:
        trained.model.save(tmp)
    write_json_atomic(layout.history_path, {"epochs_run": epochs_run, "best_epoch": best_epoch, **history})
    with atomic_path(layout.fingerprints_path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, fingerprints(trained.train_split.images), allow_pickle=False)

    from edgekit.train.plots import plot_curves, plot_predictions

    plot_curves(history, layout.curves_path, title=f"{config.model} on {dataset.name}")
    plot_predictions(
        dataset.test.images,
        dataset.test.labels,
        np.argmax(trained.test_outputs, axis=1),
        dataset.class_names,
        layout.samples_path,
    )
    manifest = RunManifest(
        config=asdict(config),
        model=config.model,
        dataset={**dataset.to_dict(), "train_images_used": len(trained.train_split)},
        params=int(trained.model.count_params()),
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        metrics=trained.metrics,
        seconds=round(trained.seconds, 2),
        device=trained.device,
        model_sha256=sha256_file(layout.model_path),
        model_bytes=layout.model_path.stat().st_size,
        contract=contract,
        versions=library_versions(),
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        files={
            "history": layout.history_path.name,
            "curves": layout.curves_path.name,
            "test_predictions": layout.samples_path.name,
        },
        fingerprints_file=layout.fingerprints_path.name,
    )
    write_json_atomic(layout.manifest_path, manifest.to_dict())
    return manifest


def training_is_current(layout: RunLayout, config: TrainConfig, dataset: Dataset) -> bool:
    """Whether the run folder holds a finished run of this config on this data (training owns this check)."""
    manifest = read_run_manifest(layout)
    if manifest is None or not layout.model_path.is_file():
        return False
    recorded = manifest.dataset
    return (
        manifest.config == asdict(config)
        and manifest.model_sha256 == sha256_file(layout.model_path)
        and recorded.get("source") == dataset.source
        and recorded.get("location") == dataset.location
        and recorded.get("sizes") == dataset.to_dict()["sizes"]
    )


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return round(float(np.mean(np.argmax(logits, axis=1) == labels)), 6)
