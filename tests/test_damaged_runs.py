"""Issue #11 cases 8 and 9: full disks, damaged run files, leftovers of killed writers, retraining over a run."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from edgekit.cli import app
from edgekit.data.sources import DataSources
from edgekit.errors import OutputError
from edgekit.files import atomic_path, clean_stale_partials, sha256_file, write_bytes_atomic, write_json_atomic
from edgekit.layout import RunLayout
from edgekit.manifests import read_run_manifest
from edgekit.progress import RecordingReporter, SilentReporter
from edgekit.train import TrainConfig, train

_real_write_bytes = Path.write_bytes
runner = CliRunner()


def fail_writes_under(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int = errno.ENOSPC) -> None:
    """Every Path.write_bytes below ``folder`` fails as a full (or read-only) disk would."""

    def write_bytes(self: Path, data: bytes) -> int:  # type: ignore[override]
        if Path(folder).resolve() in self.resolve().parents:
            raise OSError(code, os.strerror(code))
        return _real_write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.ENOSPC, "no space left on device writing {target}"),
        (errno.EDQUOT, "no space left on device writing {target} (disk quota exceeded)"),
        (errno.EROFS, "cannot write {target}: Read-only file system"),
        (errno.EIO, "cannot write {target}: Input/output error"),
    ],
)
def test_a_failed_write_is_one_output_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str
) -> None:
    fail_writes_under(monkeypatch, tmp_path, code)
    target = tmp_path / "report.json"
    with pytest.raises(OutputError) as info:
        write_json_atomic(target, {"a": 1})
    assert info.value.message == message.format(target=target) and info.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []  # no partial file, no target


def test_a_folder_that_cannot_take_a_temporary_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=f"cannot write {tmp_path / 'missing' / 'x.json'}: No such file"):
        write_bytes_atomic(tmp_path / "missing" / "x.json", b"{}")


def _host() -> str:
    from edgekit.files import _host_tag

    return _host_tag()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _touch(path: Path, age_seconds: float = 0, folder: bool = False) -> Path:
    path.mkdir() if folder else path.write_bytes(b"partial")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_stale_partials_are_cleaned_on_the_next_write_and_live_ones_kept(tmp_path: Path) -> None:
    host, dead, alive = _host(), _dead_pid(), os.getpid()
    stale = [
        _touch(tmp_path / f".model.{host}-{dead}.abcd1234.partial.keras"),  # a killed writer here: at once
        _touch(tmp_path / f".training.{host}-{dead}.k2j3h4g5.partial", folder=True),  # its staging folder
        _touch(tmp_path / ".report.abcd1234.partial.json", age_seconds=7200),  # an old-style name, 2 h old
        _touch(tmp_path / ".report.deadbeef-1.abcd1234.partial.json", age_seconds=7200),  # another host, 2 h
    ]
    kept = [
        _touch(tmp_path / f".model.{host}-{alive}.abcd1234.partial.keras"),  # a live writer on this host
        _touch(tmp_path / ".history.abcd1234.partial.json", age_seconds=60),  # unknown writer, 1 min old
        _touch(tmp_path / ".history.deadbeef-1.abcd1234.partial.json", age_seconds=60),  # another host, fresh
        _touch(tmp_path / ".notes.partial.txt", age_seconds=7200),  # not a name edgekit writes
        _touch(tmp_path / "model.partial.keras", age_seconds=7200),  # not hidden: never ours
    ]
    write_json_atomic(tmp_path / "report.json", {"ok": True})
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([p.name for p in kept] + ["report.json"])
    assert all(not p.exists() for p in stale)
    assert clean_stale_partials(tmp_path) == []


def test_a_sigkilled_writer_leaves_a_partial_that_the_next_write_removes(tmp_path: Path) -> None:
    code = f"""
import os, signal
from pathlib import Path
from edgekit.files import atomic_path
with atomic_path(Path({str(tmp_path / "tflite-int8.tflite")!r})) as tmp:
    tmp.write_bytes(b"half an artifact")
    os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert done.returncode == -9
    [leftover] = list(tmp_path.iterdir())
    assert leftover.name.startswith(".tflite-int8.") and leftover.name.endswith(".partial.tflite")
    write_bytes_atomic(tmp_path / "tflite-int8.json", b"{}")  # any write to the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tflite-int8.json"]


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new, half")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


# ------------------------------------------------------------------------------ training over a run


def _cut(path: Path) -> None:
    """Cut a JSON file in half, as a crash or a full disk outside edgekit would."""
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])


def _quick(seed: int = 0) -> TrainConfig:
    return TrainConfig(model="dense", dataset="mnist", epochs=1, max_train_images=100, seed=seed, augment=False)


@pytest.fixture(scope="module")
def base_run(tiny_dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A finished one-epoch run with its tflite-float32 artifact beside it; tests work on copies."""
    from edgekit.convert import convert

    run = tmp_path_factory.mktemp("base") / "run"
    train(_quick(), run, sources=DataSources(preloaded=tiny_dataset))
    convert(run, "tflite", "none")
    (run / "artifacts" / "keep.txt").write_text("artifacts stay where they are")
    return run


@pytest.fixture()
def finished_run(base_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_run, tmp_path / "run"))


def _snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file()}


class _StopInEpoch(SilentReporter):
    def advance(self, steps: int = 1, info: str = "") -> None:
        raise KeyboardInterrupt  # Ctrl-C at the end of the first epoch


def test_an_interrupted_retrain_leaves_the_finished_run_intact(tiny_dataset, finished_run: Path) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot(finished_run)
    with pytest.raises(KeyboardInterrupt):
        train(
            _quick(1),
            finished_run,
            sources=DataSources(preloaded=tiny_dataset),
            reporter=_StopInEpoch(),
            overwrite=True,
        )
    assert _snapshot(finished_run) == before  # manifest, model, history, plots: byte for byte
    manifest = read_run_manifest(RunLayout(finished_run))
    assert manifest is not None and manifest.model_sha256 == sha256_file(finished_run / "model.keras")
    assert sorted(p.name for p in finished_run.iterdir() if p.name.startswith(".")) == []  # no staging left


def test_a_retrain_that_fails_while_writing_leaves_the_finished_run_intact(
    tiny_dataset, finished_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot(finished_run)
    fail_writes_under(monkeypatch, finished_run)  # the model is saved by Keras; history.json then finds the disk full
    with pytest.raises(OutputError, match=f"^no space left on device writing {finished_run / 'history.json'}$"):
        train(_quick(1), finished_run, sources=DataSources(preloaded=tiny_dataset), overwrite=True)
    assert _snapshot(finished_run) == before and not [p for p in finished_run.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    result = train(_quick(1), finished_run, sources=DataSources(preloaded=tiny_dataset), overwrite=True)
    after = _snapshot(finished_run)
    assert after["manifest.json"] != before["manifest.json"] and after["model.keras"] != before["model.keras"]
    assert result.manifest.model_sha256 == sha256_file(finished_run / "model.keras")
    assert (finished_run / "artifacts" / "keep.txt").exists()  # the swap moves the run's own files only
    assert sorted(after) == sorted(before)


def test_a_damaged_manifest_means_train_again_with_a_notice(tiny_dataset, finished_run: Path) -> None:  # type: ignore[no-untyped-def]
    _cut(finished_run / "manifest.json")
    reporter = RecordingReporter()
    train(_quick(), finished_run, sources=DataSources(preloaded=tiny_dataset), reporter=reporter)  # no --overwrite
    [notice] = [n for n in reporter.notices if "damaged" in n]
    assert "manifest.json is damaged (JSONDecodeError): the run there is not finished; training it again" in notice
    assert read_run_manifest(RunLayout(finished_run)) is not None


# ------------------------------------------------------------------------- convert and bench, through the CLI


def _convert(run: Path, *more: str) -> Result:
    return runner.invoke(app, ["convert", str(run), "-f", "tflite", "-q", "none", "--offline", *more])


def test_convert_redoes_an_artifact_whose_sidecar_is_damaged(finished_run: Path) -> None:
    sidecar, artifact = (
        finished_run / "artifacts" / "tflite-float32.json",
        finished_run / "artifacts" / "tflite-float32.tflite",
    )
    _cut(sidecar)
    again = _convert(finished_run)  # no --overwrite needed: a damaged sidecar is not a finished artifact
    assert again.exit_code == 0, again.output
    assert "tflite-float32.json is damaged (JSONDecodeError): converting tflite-float32.tflite again" in again.output
    assert json.loads(sidecar.read_text())["sha256"] == sha256_file(artifact)
    artifact.write_bytes(artifact.read_bytes() + b"\0")  # the sidecar now describes another file
    third = _convert(finished_run)
    assert third.exit_code == 0 and "describes another file than tflite-float32.tflite" in third.output
    finished = _convert(finished_run)  # a finished artifact is still kept without --overwrite
    assert finished.exit_code == 1 and "already exist(s)" in finished.output


def test_convert_of_a_run_whose_manifest_is_damaged_names_the_step_to_redo(finished_run: Path) -> None:
    _cut(finished_run / "manifest.json")
    result = _convert(finished_run, "--overwrite")
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "manifest.json is damaged (JSONDecodeError)" in line and "holds no finished training run" in line
    assert "edgekit train --overwrite" in result.output
    benched = runner.invoke(app, ["bench", str(finished_run), "--no-plots", "--min-time", "0.01", "--offline"])
    assert benched.exit_code == 1 and "holds no finished training run" in benched.output, benched.output


def test_a_damaged_fingerprints_file_is_a_notice_not_a_crash(finished_run: Path) -> None:
    (finished_run / "train-fingerprints.npy").write_bytes(b"\x93NUMPY garbage")
    result = _convert(finished_run, "--overwrite")
    assert result.exit_code == 0, result.output
    assert "corrupt .npy header" in result.output and "overlap with training images is not counted" in result.output


def test_a_full_disk_in_convert_bench_and_train_is_one_line(
    finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifacts = finished_run / "artifacts"
    fail_writes_under(monkeypatch, artifacts)
    converted = _convert(finished_run, "--overwrite")
    bench_out = tmp_path / "bench"
    fail_writes_under(monkeypatch, bench_out)
    args = ["--artifacts", "tflite-float32", "--batch-sizes", "1", "--min-time", "0.01", "--no-plots"]
    benched = runner.invoke(app, ["bench", str(finished_run), *args, "--out", str(bench_out), "--offline"])
    fail_writes_under(monkeypatch, tmp_path / "new-run")
    trained = runner.invoke(app, ["train", "--data", "digits", "--epochs", "1", "--out", str(tmp_path / "new-run")])
    for result, target in (
        (converted, artifacts / "tflite-float32.tflite"),
        (benched, bench_out / "report.json"),
        (trained, tmp_path / "new-run" / "history.json"),
    ):
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert line == f"error: no space left on device writing {target}", line
    assert sorted(p.name for p in artifacts.iterdir()) == ["keep.txt", "tflite-float32.json", "tflite-float32.tflite"]
    assert list(bench_out.iterdir()) == [] and list((tmp_path / "new-run").iterdir()) == []  # nothing half-written
