"""`edgekit doctor` on the installs the README describes: base only, base + [onnx], a partial [train]."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgekit import doctor
from edgekit.cli import app

BASE = {"numpy", "typer", "rich", "pillow", "ai-edge-litert"}


def _installed(monkeypatch: pytest.MonkeyPatch, names: set[str]) -> None:
    monkeypatch.setattr(doctor, "package_version", lambda name: "1.0" if name in names else None)
    monkeypatch.setattr(doctor, "_try_import", lambda module: None)
    monkeypatch.setattr(doctor, "_gpu", lambda versions: "unknown (TensorFlow not installed)")


@pytest.mark.parametrize(
    ("extra_packages", "expected"),
    [
        (set(), {"base": "complete", "onnx": "absent", "train": "absent", "test": "absent"}),
        ({"onnxruntime"}, {"base": "complete", "onnx": "complete", "train": "partial", "test": "absent"}),
        ({"onnxruntime", "matplotlib"}, {"base": "complete", "onnx": "complete", "train": "partial", "test": "absent"}),
    ],
)
def test_device_installs_are_healthy(
    monkeypatch: pytest.MonkeyPatch, extra_packages: set[str], expected: dict[str, str]
) -> None:
    _installed(monkeypatch, BASE | extra_packages)
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["extras"] == expected and report["healthy"] is True
    assert not [c for c in report["checks"] if c["status"] == doctor.FAIL]
    assert report["edgekit"] and report["edgekit"][0].isdigit()
    partial = [c for c in report["checks"] if c["name"] == "train: not installed"]
    assert len(partial) == (expected["train"] == "partial")
    if partial:
        assert partial[0]["status"] == doctor.INFO and "tensorflow-cpu" in partial[0]["detail"]


def test_missing_base_package_fails_and_the_fix_keeps_its_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, (BASE - {"ai-edge-litert"}) | {"onnxruntime", "keras"})
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "ai-edge-litert" in result.output
    flat = "".join(ch for ch in result.output if ch not in " │\n")  # table cells may fold
    # brackets kept (rich markup is escaped), and the route that works: edgekit is not on the package index
    assert "pipinstall'.[train]'fromanedgekitcheckout" in flat
    assert "edgekit " in result.output.splitlines()[0]  # the version heads the report


def test_installed_package_that_does_not_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, BASE | {"onnxruntime"})
    monkeypatch.setattr(
        doctor, "_try_import", lambda module: "ImportError: libstdc++ too old" if module == "onnxruntime" else None
    )
    report = doctor.run_doctor()
    assert not report.healthy
    [row] = [c for c in report.checks if c.status == doctor.FAIL]
    assert row.name == "onnx: import onnxruntime" and "libstdc++" in row.detail
