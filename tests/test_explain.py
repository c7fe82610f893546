"""edgekit explain: name scopes, metrics, the layer map on the dense and CNN fixtures (all seven artifacts),
the files it writes, and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.convert.scopes import LayerScopes, scope_segments
from edgekit.explain.artifact import added_sqnr_db
from edgekit.explain.metrics import ROUNDING_ONLY, SQNR_LIMIT_DB, compare, feature_sqnr_db, sqnr_db
from edgekit.layout import ExplainLayout

runner = CliRunner()

# Op output names of a real TFLite conversion of Sequential([Flatten(), Dense(16, relu), Dense(16), ReLU(), Dense(10)])
# with Keras' default layer names: TensorFlow made "dense" dense_1 and "dense_1" dense_1_2, and fused Dense + ReLU.
DEFAULT_NAMES = ["flatten", "dense", "dense_1", "re_lu", "dense_2"]
TFLITE_NAMES = [
    "sequential_1/flatten_1/Shape",
    "sequential_1/flatten_1/Reshape",
    "sequential_1/dense_1/MatMul;sequential_1/dense_1/Relu",
    "sequential_1/dense_1_2/MatMul;sequential_1/re_lu_1/Relu",
    "StatefulPartitionedCall_1:0",
]


def test_scopes_resolve_uniquified_names_in_order_and_fused_ops_belong_to_the_later_layer() -> None:
    scopes = LayerScopes(DEFAULT_NAMES, TFLITE_NAMES)
    assert scope_segments(TFLITE_NAMES[3]) == ["sequential_1", "dense_1_2", "sequential_1", "re_lu_1"]
    assert [scopes.owner(n) for n in TFLITE_NAMES] == [0, 0, 1, 3, None]  # the last has no scope: the model output
    assert scopes.layers_in(TFLITE_NAMES[3]) == [2, 3]  # dense_1 is fused into re_lu
    assert scopes.names_of("dense_1", TFLITE_NAMES) == [TFLITE_NAMES[3]]
    assert scopes.names_of("dense", TFLITE_NAMES) == [TFLITE_NAMES[2]]


def test_sqnr_of_a_known_error_and_the_clip_for_identical_tensors() -> None:
    reference = np.ones((4, 250), np.float32)
    assert sqnr_db(reference, reference + 0.01) == pytest.approx(40.0, abs=1e-3)
    assert sqnr_db(reference, reference) == SQNR_LIMIT_DB
    assert compare(reference, -reference).cosine == pytest.approx(-1.0)


def test_rmse_over_scale_is_about_0_289_for_rounding_alone() -> None:
    values = np.random.default_rng(0).uniform(-1, 1, 100_000)
    scale = 2 / 255
    rounded = np.round(values / scale) * scale
    figures = compare(values, rounded, scale)
    assert figures.rmse_over_scale == pytest.approx(ROUNDING_ONLY, rel=0.01)
    assert ROUNDING_ONLY == pytest.approx(0.2887, abs=1e-4)
    assert figures.max_abs_error <= scale / 2 + 1e-12


def test_feature_sqnr_sees_what_outlier_units_hide() -> None:
    rng = np.random.default_rng(1)
    reference = rng.uniform(0, 1, (256, 64))
    reference[:, :2] = 2000.0  # two outlier units carry the energy
    step = 2000.0 / 255
    rounded = np.round(reference / step) * step  # per-tensor int8 rounding at the outliers' scale
    assert sqnr_db(reference, rounded) > 40  # the tensor looks fine...
    assert feature_sqnr_db(reference, rounded) < 5  # ...a typical unit is gone


def test_added_sqnr_separates_added_from_inherited_error() -> None:
    assert added_sqnr_db(140.0, 40.0) == pytest.approx(40.0, abs=1e-6)
    assert added_sqnr_db(40.0, 5.0) == pytest.approx(5.0, abs=0.01)
    assert added_sqnr_db(40.0, 41.0) == SQNR_LIMIT_DB  # less error than before: nothing added
    assert added_sqnr_db(30.0, 27.0) == pytest.approx(-10 * math.log10(10**-2.7 - 10**-3), abs=1e-9)


def _explain(run, artifacts, out: Path):  # type: ignore[no-untyped-def]
    from edgekit.explain import ExplainConfig, explain

    paths = tuple(str(a.artifact) for a in artifacts.values())
    return explain(run.run_dir, ExplainConfig(artifacts=paths, out_dir=out))


@pytest.fixture(scope="module")
def dense_explained(dense_run, dense_artifacts, tmp_path_factory):  # type: ignore[no-untyped-def]
    return _explain(dense_run, dense_artifacts, tmp_path_factory.mktemp("dense-explain"))


@pytest.fixture(scope="module")
def cnn_explained(cnn_run, cnn_artifacts, tmp_path_factory):  # type: ignore[no-untyped-def]
    return _explain(cnn_run, cnn_artifacts, tmp_path_factory.mktemp("cnn-explain"))


def test_dense_every_layer_of_all_seven_artifacts_is_matched(dense_explained) -> None:  # type: ignore[no-untyped-def]
    assert len(dense_explained.explanations) == 7
    assert [name for name, _ in dense_explained.layers] == ["(input)", "flatten", "dense_128", "logits"]
    for e in dense_explained.explanations:
        assert [r.layer for r in e.rows] == ["(input)", "flatten", "dense_128", "logits"], e.name
        assert e.unmatched == ()
        assert [r.match for r in e.rows] == ["input", "name", "name", "output"]


def test_cnn_every_layer_is_matched_or_listed_with_why(cnn_explained) -> None:  # type: ignore[no-untyped-def]
    names = [name for name, _ in cnn_explained.layers]
    assert names[:3] == ["(input)", "add_channel", "conv_32"] and names[-2:] == ["dropout", "logits"]
    for e in cnn_explained.explanations:
        assert {r.layer for r in e.rows} | {u.layer for u in e.unmatched} == set(names), e.name
        assert [(u.layer, u.reason.split(":")[0]) for u in e.unmatched] == [("dropout", "the identity at inference")]
    onnx = next(e for e in cnn_explained.explanations if e.name == "onnx-float32")
    conv = next(r for r in onnx.rows if r.layer == "conv_32")
    assert conv.shape == (28, 28, 32) and conv.tensor.endswith("Relu:0")  # NCHW in the artifact, NHWC compared
    assert next(r for r in onnx.rows if r.layer == "add_channel").match == "shape"  # tf2onnx folded the reshape


@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_float32_is_above_100_db_at_every_layer_and_int8_is_not(model, request) -> None:  # type: ignore[no-untyped-def]
    result = request.getfixturevalue(f"{model}_explained")
    by_name = {e.name: e for e in result.explanations}
    for name in ("tflite-float32", "onnx-float32"):
        assert min(r.sqnr_db for r in by_name[name].rows) > 100, name
        assert by_name[name].worst is None
    for name in ("tflite-int8", "onnx-int8"):
        quantized = [r for r in by_name[name].rows if r.layer not in ("(input)", "flatten", "add_channel")]
        assert all(20 < r.sqnr_db < 60 for r in quantized), name
        assert all(r.rmse_over_scale is not None and 0.05 < r.rmse_over_scale < 2 for r in quantized), name
        assert by_name[name].worst is not None
    # both converters quantize the same calibrated ranges: their int8 layers agree to a fraction of a dB
    pairs = zip(by_name["tflite-int8"].rows, by_name["onnx-int8"].rows, strict=False)
    assert all(abs(a.sqnr_db - b.sqnr_db) < 1.0 for a, b in pairs if a.layer == b.layer)


def test_the_files_explain_writes(cnn_explained) -> None:  # type: ignore[no-untyped-def]
    layout = ExplainLayout(cnn_explained.out_dir)
    data = json.loads(layout.json.read_text())
    assert data["schema"] == "edgekit.explain" and data["dataset"]["images"] == 256
    assert len(data["records"]) == sum(len(e.rows) for e in cnn_explained.explanations)
    assert {"artifact", "layer", "sqnr_db"} <= set(data["records"][0])
    assert {(u["artifact"], u["layer"]) for u in data["unmatched"]} == {
        (e.name, "dropout") for e in cnn_explained.explanations
    }
    assert layout.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = layout.markdown.read_text()
    assert "| conv_32 | Conv2D |" in markdown and "dropout` not matched: the identity at inference" in markdown
    int8 = next(e for e in cnn_explained.explanations if e.name == "tflite-int8")
    overlay = json.loads(layout.overlay("tflite-int8").read_text())
    assert set(overlay["results"]) == {r.tensor for r in int8.rows}  # TFLite tensor names: Model Explorer's keys
    assert [t["value"] for t in overlay["thresholds"]] == sorted(t["value"] for t in overlay["thresholds"])
    assert all(t["bgColor"].startswith("rgb(") for t in overlay["thresholds"])


def test_explain_command(dense_run, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact = str(dense_artifacts["tflite-int8"].artifact)
    result = runner.invoke(
        app, ["explain", str(dense_run.run_dir), artifact, "--samples", "64", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())  # rich folds the title to the table's width
    assert "SQNR (dB) vs Keras by layer, 64 mnist test images" in words
    assert "tflite-int8: adds the most error: logits" in words
    as_json = runner.invoke(
        app, ["explain", str(dense_run.run_dir), artifact, "--samples", "64", "--json", "-o", str(tmp_path)]
    )
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["artifacts"][0]["artifact"] == "tflite-int8"
    missing = runner.invoke(app, ["explain", str(dense_run.run_dir), "onnx-int8", "-o", str(tmp_path)])
    assert missing.exit_code == 1 and "artifact onnx-int8 not found" in missing.output  # the run has none of its own
    too_many = runner.invoke(
        app, ["explain", str(dense_run.run_dir), artifact, "--samples", "5000", "-o", str(tmp_path)]
    )
    assert too_many.exit_code == 1 and "--samples 5000 is more than the 1000 held-out images" in too_many.output


def test_a_bench_report_with_a_drift_breach_points_at_explain() -> None:
    from dataclasses import replace

    from edgekit.benchmarks.gate import Breach, GateResult
    from edgekit.benchmarks.report import render_markdown
    from edgekit.benchmarks.results import BenchReport
    from tests.test_benchmarks import OLD_REPORT

    report = BenchReport.from_dict(OLD_REPORT)
    drift = Breach("tflite-int8", "max_accuracy_drop", 1.2, 0.5, "tflite-int8: accuracy drop 1.20 points > 0.5")
    slow = Breach("tflite-int8", "max_latency_ms", 2.0, 1.0, "tflite-int8: p90 2.0 ms > 1.0 ms")
    drifted = render_markdown(replace(report, gate=GateResult({"max_accuracy_drop": 0.5}, None, (drift,))))
    assert "- which layer drifts: `edgekit explain /tmp/old/run /tmp/old/run/artifacts/tflite-int8.tflite`" in drifted
    slower = render_markdown(replace(report, gate=GateResult({"max_latency_ms": 1.0}, None, (slow,))))
    assert "edgekit explain" not in slower  # latency is not a layer's fault


def test_feature_sqnr_does_not_change_with_a_reshape_or_a_transpose() -> None:
    rng = np.random.default_rng(2)
    reference = rng.uniform(0, 1, (64, 7, 7, 8))
    noisy = reference + rng.normal(0, 0.01, reference.shape)
    view = feature_sqnr_db(reference, noisy)
    assert feature_sqnr_db(reference.reshape(64, -1), noisy.reshape(64, -1)) == view
    assert feature_sqnr_db(np.moveaxis(reference, -1, 1), np.moveaxis(noisy, -1, 1)) == pytest.approx(view)


def test_an_artifact_of_another_model_is_named_as_such(dense_run, cnn_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from edgekit.explain import ExplainConfig, explain
    from edgekit.progress import RecordingReporter

    reporter = RecordingReporter()
    other = str(cnn_artifacts["tflite-float32"].artifact)
    explain(dense_run.run_dir, ExplainConfig(artifacts=(other,), out_dir=tmp_path, plots=False), reporter=reporter)
    assert any("tflite-float32.tflite was converted from another model" in n for n in reporter.notices)
