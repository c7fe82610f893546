"""`edgekit bench` on what users have: a run folder, a Keras model and artifacts, artifacts alone; stale artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekit.cli import app

runner = CliRunner()
QUICK = ["--batch-sizes", "1", "--min-time", "0.01", "--no-plots"]


def _report(out: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def test_a_model_file_and_its_artifacts(dense_run, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "mnist_model.keras"
    shutil.copy(dense_run.model_path, model)
    pair = [str(dense_artifacts[n].artifact) for n in ("tflite-int8", "onnx-float32")]
    result = runner.invoke(app, ["bench", str(model), *pair, "--out", str(tmp_path / "out"), *QUICK])
    assert result.exit_code == 0, result.output
    report, markdown = _report(tmp_path / "out")
    assert report["reference"]["name"] == "keras" and "kind" not in report["reference"]
    assert [r["name"] for r in report["artifacts"]] == ["tflite-int8", "onnx-float32"]
    assert report["artifacts"][1]["drift"]["agreement"] == 1.0 and "stale" not in report["artifacts"][0]
    assert markdown.startswith("# edgekit bench: mnist_model") and "Keras reference on" in markdown


def test_artifacts_alone_measure_drift_against_the_float32_one(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    names = ("tflite-int8", "onnx-int8", "tflite-float32")  # the float32 one is last: it is still the reference
    paths = [str(dense_artifacts[n].artifact) for n in names]
    result = runner.invoke(app, ["bench", *paths, "--out", str(tmp_path / "out"), *QUICK])
    assert result.exit_code == 0, result.output
    report, markdown = _report(tmp_path / "out")
    reference = report["reference"]
    assert reference["kind"] == "artifact" and reference["name"] == "tflite-float32"
    assert "No Keras model was benched: drift is measured against `tflite-float32`" in markdown
    assert "## Drift against the reference tflite-float32" in markdown
    rows = {r["name"]: r for r in report["artifacts"]}
    assert list(rows) == list(names) and rows["tflite-float32"]["drift"]["agreement"] == 1.0
    assert rows["tflite-int8"]["drift"]["agreement"] >= 0.97
    assert reference["accuracy"] == rows["tflite-float32"]["drift"]["accuracy"]
    assert "drift is measured against tflite-float32" in result.stderr


def test_a_folder_of_foreign_artifacts(cnn_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import keras

    from tests import foreign_models as fm

    model = keras.saving.load_model(cnn_run.model_path, compile=False)
    folder = tmp_path / "downloaded"
    folder.mkdir()
    fm.softmax_tflite(model, folder)
    fm.nchw_onnx(model, folder)
    result = runner.invoke(app, ["bench", str(folder), *QUICK])
    assert result.exit_code == 0, result.output
    report, markdown = _report(folder / "bench")
    assert [r["name"] for r in report["artifacts"]] == ["mnist_nchw_b10", "mnist_softmax"]  # file stems, sorted
    assert report["reference"]["name"] == "mnist_nchw_b10" and report["artifacts"][1]["mode"] == "none"
    assert report["artifacts"][1]["drift"]["agreement"] >= 0.99  # the same weights, NCHW behind a transpose
    assert "figures are optimistic" in markdown  # the offline sample: MNIST training images


def test_artifacts_of_another_model_are_stale(dense_run, dense_artifacts, cnn_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    retrained = tmp_path / "run"  # as after `train --overwrite`: the old artifacts describe the old model
    shutil.copytree(dense_run.run_dir, retrained)
    shutil.copy(cnn_run.model_path, retrained / "model.keras")
    (retrained / "artifacts").mkdir(exist_ok=True)
    for name in ("tflite-float32", "tflite-int8"):
        for suffix in (".tflite", ".json"):
            shutil.copy(dense_artifacts[name].artifact.with_suffix(suffix), retrained / "artifacts")
    result = runner.invoke(app, ["bench", str(retrained), *QUICK])
    assert result.exit_code == 0, result.output
    report, markdown = _report(retrained / "bench")
    assert all(r["stale"].startswith("converted from another model") for r in report["artifacts"])
    assert "⚠️ Stale: tflite-float32, tflite-int8 were converted from another model" in markdown
    assert "is stale: converted from another model" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message", "hint"),
    [
        (["MODEL"], 1, "no artifacts to bench against", "edgekit convert"),
        (["MODEL", "MODEL"], 2, "not .tflite or .onnx artifacts", "the Keras model comes first"),
        (["TFLITE", "MODEL"], 2, "not .tflite or .onnx artifacts", "name it first: edgekit bench model.keras"),
        (["NOWHERE"], 2, "does not exist", "edgekit bench"),
    ],
)
def test_forms_that_make_no_sense(args, code, message, hint, dense_run, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "lonely.keras"
    shutil.copy(dense_run.model_path, model)
    names = {"MODEL": str(model), "TFLITE": str(dense_artifacts["tflite-int8"].artifact), "NOWHERE": "nowhere"}
    result = runner.invoke(app, ["bench", *(names[a] for a in args), *QUICK])
    assert result.exit_code == code, result.output
    assert message in result.stderr and hint in result.stderr and "Traceback" not in result.output


def test_artifacts_alone_never_import_tensorflow(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.child_cli import run_cli

    paths = [str(dense_artifacts[n].artifact) for n in ("tflite-float32", "onnx-int8")]
    [outcome], heavy = run_cli([["bench", *paths, "--out", str(tmp_path), "--batch-sizes", "1", "--min-time", "0.01"]])
    assert outcome.code == 0, outcome.stderr
    assert (tmp_path / "report.json").is_file() and "tensorflow" not in heavy and "keras" not in heavy
