"""`edgekit bench` on what users have: a run folder, a Keras model and artifacts, artifacts alone; stale artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from tests.cli_checks import no_bug

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
    drift = report["artifacts"][1]["drift"]  # the same weights, NCHW behind a transpose, logits vs softmax:
    assert drift["agreement"] == 1.0 and drift["max_abs_prob_diff"] < 1e-5  # compared as probabilities, both
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
    assert message in result.stderr and hint in result.stderr and no_bug(result)


def test_artifacts_alone_never_import_tensorflow(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.child_cli import run_cli

    paths = [str(dense_artifacts[n].artifact) for n in ("tflite-float32", "onnx-int8")]
    [outcome], heavy = run_cli([["bench", *paths, "--out", str(tmp_path), "--batch-sizes", "1", "--min-time", "0.01"]])
    assert outcome.code == 0, outcome.stderr
    assert (tmp_path / "report.json").is_file() and "tensorflow" not in heavy and "keras" not in heavy


def test_gates_on_artifacts_alone_check_the_artifacts_not_the_reference(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The reference row's drift against itself is no comparison: alone, a drift threshold has nothing to check."""
    lone = [str(dense_artifacts["tflite-float32"].artifact)]
    result = runner.invoke(app, ["bench", *lone, "--out", str(tmp_path / "a"), "--max-accuracy-drop", "0", *QUICK])
    assert result.exit_code == 2 and "threshold max_accuracy_drop compared nothing" in result.stderr, result.output
    pair = [*lone, str(dense_artifacts["tflite-int8"].artifact)]
    result = runner.invoke(app, ["bench", *pair, "--out", str(tmp_path / "b"), "--min-agreement", "0.5", *QUICK])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b" / "report.json").read_text())["gate"]["comparisons"] == {"min_agreement": 1}


def _matmul_onnx(path: Path, classes: int, nan: bool = False) -> Path:
    """A (N, 28, 28) -> (N, classes) ONNX classifier written by hand; ``nan``: log of a negative, NaN always."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.full((784, classes), 0.01, np.float32), "w")
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["s" if nan else "y"])]
    if nan:
        nodes += [helper.make_node("Abs", ["s"], ["a"]), helper.make_node("Neg", ["a"], ["n"])]
        nodes += [helper.make_node("Sub", ["n", "one"], ["m"]), helper.make_node("Log", ["m"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 28, 28])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, classes])]
    extra = [numpy_helper.from_array(np.array(1.0, np.float32), "one")] if nan else []
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=[weights, *extra])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_an_artifact_of_another_classifier_or_with_nan_scores_is_refused(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reference = str(dense_artifacts["tflite-float32"].artifact)
    five, nan = _matmul_onnx(tmp_path / "five.onnx", 5), _matmul_onnx(tmp_path / "nan.onnx", 10, nan=True)
    other = runner.invoke(app, ["bench", reference, str(five), "--out", str(tmp_path / "o"), *QUICK])
    assert other.exit_code == 1 and "five.onnx has 5 classes and the reference 10" in other.stderr, other.output
    broken = runner.invoke(app, ["bench", reference, str(nan), "--out", str(tmp_path / "n"), *QUICK])
    assert broken.exit_code == 1 and "nan.onnx returned NaN or infinite scores for" in broken.stderr, broken.output
    assert no_bug(other) and no_bug(broken)
