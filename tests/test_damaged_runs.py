"""Issue #11 cases 8 and 9: full disks, damaged run files, leftovers of killed writers, retraining over a run."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgekit.errors import OutputError
from edgekit.files import atomic_path, clean_stale_partials, write_bytes_atomic, write_json_atomic

_real_write_bytes = Path.write_bytes


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
