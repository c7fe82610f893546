from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.doctor import FAIL, WARN, known_bad_combinations
from tests.conftest import write_idx_dataset

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "train" in result.output and "doctor" in result.output


def test_unknown_model_is_a_usage_error_naming_choices() -> None:
    result = runner.invoke(app, ["train", "--model", "resnet"])
    assert result.exit_code == 2
    assert "dense" in result.output and "cnn" in result.output


def test_unknown_dataset_is_a_usage_error() -> None:
    result = runner.invoke(app, ["train", "--dataset", "cifar"])
    assert result.exit_code == 2 and "fashion-mnist" in result.output


def test_zero_epochs_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--epochs", "0", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--epochs must be at least 1" in result.output
    assert not (tmp_path / "r").exists()


def test_data_dir_without_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "error: no mnist files" in result.output and "looked for" in result.output
    assert "Traceback" not in result.output


def test_out_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = runner.invoke(app, ["train", "--out", str(target), "--max-train-images", "20", "--epochs", "1"])
    assert result.exit_code == 1 and "is not a directory" in result.output


def test_fashion_mnist_offline_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    result = runner.invoke(app, ["train", "--dataset", "fashion-mnist", "--offline", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "fashion-mnist is not available offline" in result.output and "--data-dir" in result.output


def test_train_command_on_fashion_idx_files(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path / "data", n_train=200, n_test=50)
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            str(tmp_path / "data"),
            "--epochs",
            "3",
            "--out",
            str(run),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "test acc" in result.output and "data-dir" in result.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["dataset"]["name"] == "fashion-mnist" and manifest["dataset"]["is_full_dataset"] is True
    assert manifest["class_names"][0] == "T-shirt/top"
    assert manifest["metrics"]["test_accuracy"] > 0.5  # the synthetic bars are easy; chance is 0.1


def test_doctor_reports_a_healthy_install() -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["healthy"] is True
    assert report["versions"]["tensorflow-cpu"].startswith("2.21")
    assert report["extras"]["train"] == "complete"
    assert "CPU" in report["gpu"] or "GPU" in report["gpu"]


@pytest.mark.parametrize(
    ("versions", "name", "status"),
    [
        ({"numpy": "2.4.6", "tflite-runtime": "2.14.0"}, "tflite-runtime + NumPy 2", WARN),
        ({"tensorflow-cpu": "2.21.0", "keras": "2.15.0"}, "keras vs tensorflow", FAIL),
        ({"tensorflow": "2.15.0", "keras": "3.15.1"}, "keras vs tensorflow", FAIL),
        ({"tensorflow": "2.21.0", "tensorflow-cpu": "2.20.0", "keras": "3.15.1"}, "tensorflow + tensorflow-cpu", FAIL),
        ({"tensorflow-cpu": "2.21.0", "keras": "3.15.1", "tf-keras": "2.17.0"}, "tf-keras vs tensorflow", WARN),
    ],
)
def test_known_bad_combinations(versions: dict[str, str], name: str, status: str) -> None:
    found = {c.name: c for c in known_bad_combinations(versions)}
    assert found[name].status == status and found[name].fix


def test_good_combination_has_no_findings() -> None:
    assert known_bad_combinations({"numpy": "2.4.6", "tensorflow-cpu": "2.21.0", "keras": "3.15.1"}) == []
