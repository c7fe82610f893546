"""`edgekit train --data`: edgekit's architectures on other people's images, and the run converts on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgekit.cli import app

runner = CliRunner()


def test_dense_on_digits_records_the_data_contract_and_converts(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--data", "digits", "--epochs", "25", "--out", str(run), "--offline"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((run / "manifest.json").read_text())
    contract = manifest["contract"]
    assert contract["input_shape"] == [8, 8] and contract["input_range"] == [0.0, 16.0]
    assert contract["preprocessing"] == {"kind": "scale", "scale": 1 / 16, "offset": 0.0}
    assert manifest["config"]["data"] == "digits"
    assert manifest["metrics"]["test_accuracy"] >= 0.93  # measured 97.8% with 30 epochs
    converted = runner.invoke(app, ["convert", str(run), "-f", "tflite", "-q", "int8", "--offline"])
    assert converted.exit_code == 0, converted.output  # the run's own data, found without --data
    sidecar = json.loads((run / "artifacts" / "tflite-int8.json").read_text())
    assert sidecar["parity"]["dataset"] == "digits" and sidecar["parity"]["agreement"] >= 0.99
    assert sidecar["parity"]["overlap_with_training"] == 0  # checked against the run's fingerprints


def _rgb_folder(root: Path) -> Path:
    """Three classes of 16x16 RGB pictures: a red, green or blue square on noise, anywhere in the frame."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True)
        for i in range(40):
            image = rng.integers(0, 60, size=(16, 16, 3), dtype=np.uint8)
            y, x = rng.integers(0, 9, size=2)
            image[y : y + 7, x : x + 7, label] = 230
            Image.fromarray(image).save(root / name / f"{i}.png")
    return root


def test_cnn_on_an_rgb_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--model",
            "cnn",
            "--data",
            str(_rgb_folder(tmp_path / "colours")),
            "--epochs",
            "12",
            "--out",
            str(run),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["contract"]["input_shape"] == [16, 16, 3]
    assert manifest["contract"]["class_names"] == ["blue", "green", "red"]
    assert manifest["config"]["data"] == str((tmp_path / "colours").resolve())
    assert manifest["metrics"]["test_accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("args", "message"), [(["--model", "cnn", "--data", "digits-features"], "neither a file or folder")]
)
def test_bad_training_data_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "r"), "--offline"])
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_cnn_refuses_feature_vectors(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "features.npz",
        x=np.random.default_rng(0).normal(size=(60, 12)).astype(np.float32),
        y=np.arange(60) % 3,
    )
    result = runner.invoke(
        app, ["train", "--model", "cnn", "--data", str(tmp_path / "features.npz"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2, result.output
    assert "cnn needs images of at least 4x4 pixels" in result.output and "--model dense" in result.output
