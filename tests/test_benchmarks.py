from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.benchmarks import BenchConfig, bench
from edgekit.benchmarks.drift import confusion_matrix, drift, mean_kl_divergence
from edgekit.benchmarks.gate import Thresholds, evaluate, load_thresholds, merge
from edgekit.benchmarks.latency import TimingPolicy, percentile, summarize, time_calls
from edgekit.benchmarks.report import SCHEMA_FILE, render_markdown
from edgekit.cli import app
from edgekit.errors import UsageError

runner = CliRunner()
FAST = TimingPolicy(warmup_runs=5, min_runs=30, min_seconds=0.01, max_seconds=0.5)


@pytest.fixture(scope="module")
def bench_result(dense_run, dense_artifacts, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    summary = tmp_path_factory.mktemp("gh") / "summary.md"
    os.environ["GITHUB_STEP_SUMMARY"] = str(summary)
    try:
        config = BenchConfig(artifacts=tuple(str(r.artifact) for r in dense_artifacts.values()), batch_sizes=(1, 8),
                             policy=FAST, out_dir=tmp_path_factory.mktemp("bench"))
        result = bench(dense_run.run_dir, config)
    finally:
        del os.environ["GITHUB_STEP_SUMMARY"]
    return result, summary


# ------------------------------------------------------------------------------------------ latency


def test_percentiles_match_numpy_linear_interpolation() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50.5
    assert percentile(samples, 90) == pytest.approx(90.1)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7], 90) == 7
    rng = np.random.default_rng(3)
    data = rng.exponential(size=333).tolist()
    for q in (0, 10, 50, 90, 99, 100):
        assert percentile(data, q) == pytest.approx(float(np.percentile(data, q)))
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarize_on_synthetic_timings() -> None:
    ns = [1_000_000, 2_000_000, 3_000_000, 4_000_000]  # 1..4 ms
    stats = summarize(ns, batch_size=32)
    assert stats["runs"] == 4 and stats["min_ms"] == 1.0 and stats["max_ms"] == 4.0
    assert stats["mean_ms"] == 2.5 and stats["p50_ms"] == 2.5
    assert stats["std_ms"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert stats["p90_ms"] == pytest.approx(3.7)
    assert stats["images_per_second"] == pytest.approx(32 / 0.0025)


def test_time_calls_honours_min_and_max_runs() -> None:
    calls = []
    samples = time_calls(lambda: calls.append(1), TimingPolicy(warmup_runs=3, min_runs=50, min_seconds=0.0))
    assert len(samples) == 50 and len(calls) == 53 and all(s >= 0 for s in samples)
    capped = time_calls(lambda: None, TimingPolicy(warmup_runs=0, min_runs=10, min_seconds=60, max_runs=200))
    assert len(capped) == 200


# -------------------------------------------------------------------------------------------- drift


def test_drift_on_hand_built_predictions() -> None:
    reference = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]]))
    artifact = reference.copy()
    artifact[3] = np.log([0.3, 0.6, 0.1])  # flips image 3 from class 0 to class 1
    labels = np.array([0, 1, 2, 0])
    d = drift(reference, artifact, labels, classes=3)
    assert d["agreement"] == 0.75 and d["disagreeing_indices"] == [3]
    assert d["reference_accuracy"] == 1.0 and d["accuracy"] == 0.75 and d["accuracy_delta_points"] == -25.0
    assert d["per_class_accuracy"] == [0.5, 1.0, 1.0] and d["per_class_delta_points"] == [-50.0, 0.0, 0.0]
    assert d["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert d["max_abs_prob_diff"] == pytest.approx(0.3)
    kl = 0.6 * np.log(0.6 / 0.3) + 0.3 * np.log(0.3 / 0.6)  # only image 3 differs
    assert d["mean_kl_divergence"] == pytest.approx(kl / 4)


def test_kl_is_zero_for_identical_and_confusion_counts() -> None:
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    assert mean_kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert confusion_matrix(np.array([0, 0, 1]), np.array([1, 0, 1]), 2).tolist() == [[1, 1], [0, 1]]


# --------------------------------------------------------------------------------------------- gate


def _fake_report(accuracy: float = 0.97, agreement: float = 1.0, p50: float = 0.01, p90: float = 0.012) -> dict:
    return {"environment": {"cpu_model": "x", "cpu_cores": 2, "arch": "x86_64", "threads": 1},
            "artifacts": [{"name": "tflite-int8", "drift": {"accuracy": accuracy, "accuracy_delta_points": (accuracy - 0.98) * 100,
                                                          "agreement": agreement},
                           "latency": {"1": {"batch_size": 1, "p50_ms": p50, "p90_ms": p90},
                                       "32": {"batch_size": 32, "p50_ms": 1.0, "p90_ms": 2.0}}}]}


def test_gate_checks_each_threshold() -> None:
    report = _fake_report(accuracy=0.97, agreement=0.985, p90=0.05)
    breaches = evaluate(report, Thresholds(max_accuracy_drop=0.5, min_agreement=0.99, max_latency_ms=0.02))
    assert sorted(b["check"] for b in breaches) == ["max_accuracy_drop", "max_latency_ms", "min_agreement"]
    assert evaluate(report, Thresholds(max_accuracy_drop=1.5, min_agreement=0.98, max_latency_ms=0.1)) == []
    baseline = _fake_report(accuracy=0.99, p50=0.004)
    regressions = evaluate(report, Thresholds(max_slowdown=1.5, max_accuracy_regression=1.0), baseline)
    assert {b["check"]: round(b["value"], 3) for b in regressions} == {"max_slowdown": 2.5, "max_accuracy_regression": 2.0}


def test_thresholds_from_toml_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[gate]\nmax-accuracy-drop = 0.5\nmin_agreement = 0.99\n")
    loaded = load_thresholds(path)
    assert loaded == Thresholds(max_accuracy_drop=0.5, min_agreement=0.99)
    assert merge(loaded, min_agreement=0.995, max_latency_ms=None).min_agreement == 0.995
    path.write_text("max_accuracy_dorp = 1\n")
    with pytest.raises(UsageError, match="unknown threshold"):
        load_thresholds(path)
    with pytest.raises(UsageError, match="makes no sense"):
        Thresholds(min_agreement=2).validate()


# ------------------------------------------------------------------------------------ full benchmark


def test_report_validates_against_its_schema(bench_result) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    result, _ = bench_result
    schema = json.loads(SCHEMA_FILE.read_text())
    report = json.loads(result.json_path.read_text())
    jsonschema.validate(report, schema)
    broken = copy.deepcopy(report)
    del broken["artifacts"][0]["drift"]["agreement"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_report_figures_are_real(bench_result, dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    result, _ = bench_result
    report = result.report
    rows = {r["name"]: r for r in report["artifacts"]}
    assert sorted(rows) == sorted(dense_artifacts)
    assert report["dataset"]["split"] == "test" and report["dataset"]["images"] == 1000
    for name, row in rows.items():
        assert row["size_bytes"] == dense_artifacts[name].size_bytes
        for b in ("1", "8"):
            s = row["latency"][b]
            assert 0 < s["min_ms"] <= s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["max_ms"] and s["runs"] >= 30
        assert row["drift"]["reference_accuracy"] == report["reference"]["accuracy"]
    assert rows["tflite-float32"]["drift"]["agreement"] == 1.0
    assert rows["tflite-int8"]["size_ratio_vs_float32"] < 0.35
    assert rows["tflite-int8"]["raw_invoke_best_ms"] > 0 and rows["tflite-int8"]["p50_vs_raw_invoke_best"] >= 1.0
    assert rows["onnx-int8"]["raw_invoke_best_ms"] is None
    assert report["reference"]["device"] == "CPU" and report["reference"]["predict_p50_vs_tflite_int8"] > 1
    assert report["environment"]["cpu_cores"] == os.cpu_count() and report["environment"]["versions"]["numpy"]
    assert report["gate"] == {"thresholds": {}, "baseline": None, "breaches": [], "passed": True}


def test_markdown_plots_and_step_summary(bench_result) -> None:  # type: ignore[no-untyped-def]
    result, summary = bench_result
    markdown = result.markdown_path.read_text()
    assert markdown == render_markdown(result.report)
    for heading in ("# edgekit bench: dense", "## Drift against the Keras reference", "## Per-class accuracy delta",
                    "## Gate", "## Environment"):
        assert heading in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(table_rows) == 3 * 7  # main table, drift table, per-class table
    assert "| `tflite-int8` | tflite | int8 |" in markdown
    assert summary.read_text().strip() == markdown.strip()
    for name in result.report["plots"].values():
        assert (result.out_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_gate_exit_codes_with_honest_and_doctored_baselines(bench_result, dense_run, dense_artifacts,
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, _ = bench_result
    honest = tmp_path / "honest.json"
    shutil.copy(result.json_path, honest)
    doctored = json.loads(result.json_path.read_text())
    for row in doctored["artifacts"]:
        row["latency"]["1"]["p50_ms"] /= 100  # "it used to be 100x faster"
        row["drift"]["accuracy"] = 1.0  # "it used to be perfect"
    doctored["environment"]["cpu_model"] = "a different CPU"
    (tmp_path / "doctored.json").write_text(json.dumps(doctored))
    args = ["bench", str(dense_run.run_dir), "--artifacts",
            ",".join(str(dense_artifacts[n].artifact) for n in ("tflite-int8", "onnx-int8")),
            "--batch-sizes", "1", "--min-time", "0.01", "--no-plots", "--max-slowdown", "50",
            "--max-accuracy-regression", "0.5"]
    ok = runner.invoke(app, [*args, "--baseline", str(honest), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, [*args, "--baseline", str(tmp_path / "doctored.json"), "--out", str(tmp_path / "b")])
    assert bad.exit_code == 3, bad.output
    assert "error: 4 threshold breach(es)" in bad.output  # slowdown and regression, for each of two artifacts
    assert "tflite-int8: p50" in bad.output and "below the baseline's" in bad.output
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert {b["check"] for b in report["gate"]["breaches"]} == {"max_slowdown", "max_accuracy_regression"}
    assert report["gate"]["baseline"]["same_machine"] is False and "another machine" in report["gate"]["baseline"]["note"]
    assert all(r["breaches"] for r in report["artifacts"])
    assert "❌" in (tmp_path / "b" / "report.md").read_text()


def test_bench_usage_errors(dense_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    no_baseline = runner.invoke(app, ["bench", str(dense_run.run_dir), "--max-slowdown", "2"])
    assert no_baseline.exit_code == 2 and "need --baseline" in no_baseline.output
    bad_batches = runner.invoke(app, ["bench", str(dense_run.run_dir), "--batch-sizes", "1,x"])
    assert bad_batches.exit_code == 2
    not_a_report = tmp_path / "r.json"
    not_a_report.write_text("{}")
    wrong = runner.invoke(app, ["bench", str(dense_run.run_dir), "--baseline", str(not_a_report)])
    assert wrong.exit_code == 2 and "not an edgekit bench report" in wrong.output
    missing = runner.invoke(app, ["bench", str(tmp_path)])
    assert missing.exit_code == 1 and "no artifacts" in missing.output


def test_edgekit_run_end_to_end_on_a_tiny_budget(tmp_path: Path) -> None:
    args = ["run", "--models", "dense", "--epochs", "4", "--max-train-images", "600", "--min-time", "0.01",
            "--batch-sizes", "1", "--out", str(tmp_path), "--max-accuracy-drop", "2"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads((tmp_path / "report.json").read_text())
    [model] = summary["models"]
    assert model["trained"] is True and len(model["converted"]) == 7 and model["breaches"] == []
    bench_report = json.loads(Path(model["bench_report"]).read_text())
    assert len(bench_report["artifacts"]) == 7 and bench_report["gate"]["thresholds"] == {"max_accuracy_drop": 2.0}
    assert (tmp_path / "report.md").read_text().startswith("# edgekit run")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    [model] = json.loads((tmp_path / "report.json").read_text())["models"]
    assert model["trained"] is False and model["converted"] == [] and len(model["reused_artifacts"]) == 7
    assert "reusing the finished training run" in again.output
