"""Issue #11 case 4: the CI gate never passes without checking: bad limits, bad baselines, bad files."""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest

from edgekit.benchmarks.gate import Thresholds, compare, evaluate, gate, load_thresholds, merge
from edgekit.benchmarks.latency import LatencyStats
from edgekit.benchmarks.report import load_report
from edgekit.errors import UsageError
from tests.child_cli import run_cli
from tests.test_benchmarks import OLD_REPORT, _fake_rows


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("max_accuracy_drop", math.nan, "not a finite number"),
        ("min_agreement", math.nan, "not a finite number"),
        ("max_latency_ms", math.inf, "not a finite number"),
        ("max_slowdown", -math.inf, "not a finite number"),
        ("max_accuracy_regression", math.nan, "not a finite number"),
        ("max_accuracy_drop", -0.5, "out of range"),
        ("max_accuracy_drop", 101.0, "out of range"),
        ("min_agreement", 1.5, "out of range"),
        ("max_latency_ms", 0.0, "out of range"),
        ("max_slowdown", 0.0, "out of range"),
    ],
)
def test_a_flag_that_cannot_be_checked_is_a_usage_error(flag: str, value: float, problem: str) -> None:
    with pytest.raises(UsageError, match=f"--{flag.replace('_', '-')} = .* {problem}") as info:
        merge(Thresholds(), **{flag: value})
    assert info.value.exit_code == 2 and "\n" not in info.value.message
    assert merge(Thresholds(), max_accuracy_drop=0.0, min_agreement=1.0).active() == {
        "max_accuracy_drop": 0.0,
        "min_agreement": 1.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_accuracy_drop = nan\n", "max_accuracy_drop in .* is not a finite number"),
        ("[gate]\nmin-agreement = inf\n", "min_agreement in .* is not a finite number"),
        ("[gate]\nmin_agreement = 1.5\n", "out of range"),
        ("gate = 3\n", r"\[gate\] .* must be a table"),
        ('max_slowdown = "fast"\n', "must be a number, not str 'fast'"),
        ("max_slowdown = true\n", "must be a number, not bool"),
        ("max_slowdown = 2\n[gate]\nmax_slowdown = 3\n", "given twice"),
        ("max_slowdown = [1, 2]\n", "must be a number, not list"),
        ("max_slowdown = = 2\n", "not valid TOML"),
    ],
)
def test_a_thresholds_file_that_cannot_be_checked_is_one_usage_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as info:
        load_thresholds(path)
    assert str(path) in info.value.message and "\n" not in info.value.message


def test_top_level_and_gate_table_keys_are_read_together(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("max_slowdown = 2\n[gate]\nmin_agreement = 0.99\n")  # the top-level key used to be dropped
    assert load_thresholds(path) == Thresholds(max_slowdown=2.0, min_agreement=0.99)


def test_thresholds_path_that_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a regular file"):
        load_thresholds(tmp_path)
    os.mkfifo(tmp_path / "fifo.toml")
    with pytest.raises(UsageError, match="is not a regular file"):
        load_thresholds(tmp_path / "fifo.toml")  # would block forever if read


def _renamed(rows: tuple, name: str) -> tuple:  # type: ignore[type-arg]
    return tuple(replace(r, name=name) for r in rows)


def test_a_baseline_that_shares_nothing_is_a_usage_error_not_a_pass() -> None:
    rows = _fake_rows(accuracy=0.97, p50=0.01)
    slower = Thresholds(max_slowdown=1.5, max_accuracy_regression=1.0)
    with pytest.raises(UsageError, match="max_slowdown compared nothing: the baseline shares no artifact") as info:
        evaluate(rows, slower, _renamed(_fake_rows(), "onnx-int8"))
    assert "baseline: onnx-int8; this report: tflite-int8" in info.value.message
    with pytest.raises(UsageError, match="the baseline holds no artifacts"):
        evaluate(rows, Thresholds(max_accuracy_regression=1.0), ())
    checked = compare(rows, slower, _fake_rows(accuracy=0.99, p50=0.004))
    assert checked.comparisons == {"max_slowdown": 1, "max_accuracy_regression": 1} and len(checked.breaches) == 2


def test_slowdown_compares_the_same_batch_size_only() -> None:
    rows = _fake_rows(p50=0.01)  # latency at batches 1 and 32
    old = _fake_rows(p50=0.004)
    only_b32 = tuple(replace(r, latency={32: r.latency[32]}) for r in old)  # the old code compared b1 with b32
    with pytest.raises(UsageError, match="has a p50 above 0 at the report's smallest batch size in both"):
        evaluate(rows, Thresholds(max_slowdown=2.0), only_b32)
    zero = LatencyStats(**{**old[0].latency[1].to_dict(), "p50_ms": 0.0})
    with pytest.raises(UsageError, match="compared nothing"):
        evaluate(rows, Thresholds(max_slowdown=2.0), (replace(old[0], latency={1: zero}),))
    nan_accuracy = replace(old[0], drift=replace(old[0].drift, accuracy=math.nan))
    with pytest.raises(UsageError, match="finite accuracy in both"):
        evaluate(rows, Thresholds(max_accuracy_regression=0.5), (nan_accuracy,))
    [breach] = evaluate(rows, Thresholds(max_slowdown=2.0), old)
    assert breach.value == pytest.approx(2.5) and "at batch 1" in breach.message


def test_the_report_lists_the_comparisons_each_threshold_made(tmp_path: Path) -> None:
    import jsonschema

    from edgekit.benchmarks.report import SCHEMA_FILE, render_markdown

    path = tmp_path / "old.json"
    path.write_text(json.dumps(OLD_REPORT))
    old = load_report(path)
    two = replace(old, artifacts=(*old.artifacts, replace(old.artifacts[0], name="onnx-int8")))
    limits = Thresholds(max_accuracy_drop=1.0, max_slowdown=100.0)
    result = gate(two, limits, old, path)  # onnx-int8 is not in the baseline: 2 drops checked, 1 slowdown
    assert result.comparisons == {"max_accuracy_drop": 2, "max_slowdown": 1} and result.passed
    report = replace(two, gate=result)
    on_disk = json.loads(json.dumps(report.to_dict()))
    assert on_disk["gate"]["comparisons"] == {"max_accuracy_drop": 2, "max_slowdown": 1}
    jsonschema.validate(on_disk, json.loads(SCHEMA_FILE.read_text()))
    assert "`max_accuracy_drop` = 1.0 (2 comparisons), `max_slowdown` = 100.0 (1 comparison)" in render_markdown(report)
    assert type(report).from_dict(on_disk) == report
    assert old.gate.comparisons is None and "comparisons" not in old.to_dict()["gate"]  # old reports unchanged
    assert gate(two, Thresholds(), old, path).comparisons is None  # no threshold: nothing counted, nothing shown


def _baselines(folder: Path) -> dict[str, Path]:
    """Malformed baselines, one per way of being wrong."""
    broken: dict[str, object] = {"list": [OLD_REPORT], "string": "report", "no-artifacts": {**OLD_REPORT}}
    broken["no-artifacts"]["artifacts"] = []  # type: ignore[index]
    nameless = copy.deepcopy(OLD_REPORT)
    del nameless["artifacts"][0]["name"]  # type: ignore[index]
    fast = copy.deepcopy(OLD_REPORT)
    fast["artifacts"][0]["latency"]["1"]["p50_ms"] = "fast"  # type: ignore[index]
    broken |= {"nameless": nameless, "fast": fast}
    paths = {}
    for name, data in broken.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    paths["empty"] = folder / "empty.json"
    paths["empty"].write_text("")
    paths["folder"] = folder / "a-folder.json"
    paths["folder"].mkdir()
    return paths


def test_bad_limits_and_baselines_are_one_line_exit_2_before_tensorflow(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "gate-dir").mkdir()
    (tmp_path / "nan.toml").write_text("[gate]\nmin_agreement = nan\n")
    bench = ["bench", str(run), "--no-plots"]
    cases: list[tuple[list[str], str]] = [
        (["--max-accuracy-drop", "nan", "--min-agreement", "nan"], "--max-accuracy-drop = nan is not a finite"),
        (["--min-agreement", "inf"], "--min-agreement = inf is not a finite number"),
        (["--max-slowdown", "-1", "--baseline", str(run)], "--max-slowdown = -1.0 is out of range"),
        (["--thresholds", str(tmp_path / "gate-dir")], "is not a regular file"),
        (["--thresholds", str(tmp_path / "nan.toml")], "min_agreement in"),
    ]
    messages = {
        "list": "holds a JSON list",
        "string": "holds a JSON str",
        "no-artifacts": "holds no artifacts",
        "nameless": "KeyError 'name'",
        "fast": "ValueError could not convert string to float: 'fast'",
        "empty": "is not JSON",
        "folder": "is not a regular file",
    }
    for name, path in _baselines(tmp_path).items():
        cases.append((["--baseline", str(path), "--max-slowdown", "2"], messages[name]))
    run_args = [["run", "--out", str(tmp_path / "runs"), "--max-accuracy-drop", "nan"]]
    outcomes, heavy = run_cli([bench + args for args, _ in cases] + run_args)
    for outcome, (_, fragment) in zip(outcomes, cases, strict=False):
        assert outcome.is_one_line_error(2, fragment), (outcome.args, outcome.code, outcome.stderr)
    assert outcomes[-1].is_one_line_error(2, "--max-accuracy-drop = nan"), outcomes[-1].stderr
    assert heavy == [] and not (tmp_path / "runs").exists()
