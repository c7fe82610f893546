"""File helpers every writer shares: atomic writes, hashes, output folders."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgekit.errors import OutputError


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_dir(path: Path) -> Path:
    """Create an output directory or fail with one clear line."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output path {path} exists and is not a directory", "choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK):
        raise OutputError(f"output directory {path} is not writable", "choose another --out")
    return path


# A partial file or folder is named .STEM.HOST-PID.RANDOM.partialSUFFIX: HOST is a short hash of the
# writer's host name and PID its process, so a later writer can tell a leftover from a live write.
# Names from edgekit before the writer was recorded (.STEM.RANDOM.partialSUFFIX) are matched too.
_PARTIAL = re.compile(r"^\.(?P<stem>.*?)\.(?:(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.)?[a-z0-9_]{8}\.partial(\..*)?$")
STALE_AFTER_SECONDS = 3600  # a leftover of another host (or an unknown writer) is only removed after this


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _writer_tag() -> str:
    return f"{_host_tag()}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def is_stale_partial(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a partial file or folder that no running writer will finish.

    Stale: its writer ran on this host and its process is gone (a SIGKILL, a power cut), or it has not
    been touched for an hour (a writer on another host sharing the folder, or one that did not record
    itself). A live writer on this host is never touched; a reused pid only keeps a leftover longer.
    """
    match = _PARTIAL.match(path.name)
    if match is None:
        return False
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except OSError:
        return False
    if match["host"] == _host_tag() and match["pid"] is not None:
        return not _pid_alive(int(match["pid"]))
    return age > STALE_AFTER_SECONDS


def clean_stale_partials(folder: Path) -> list[Path]:
    """Remove the stale partial files and folders directly in ``folder``; returns what was removed."""
    removed = []
    try:
        entries = [p for p in Path(folder).iterdir() if p.name.startswith(".") and ".partial" in p.name]
    except OSError:
        return []
    for path in entries:
        if not is_stale_partial(path):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:  # another writer cleaned it first, or it is not ours to remove
            continue
    return removed


def write_error(target: Path, exc: OSError) -> OutputError:
    """One line for an OSError while writing ``target`` (a full disk says so)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        quota = " (disk quota exceeded)" if exc.errno == errno.EDQUOT else ""
        return OutputError(
            f"no space left on device writing {target}{quota}",
            "free some space (nothing half-written was kept) and run again",
        )
    return OutputError(f"cannot write {target}: {exc.strerror or exc}", "nothing half-written was kept")


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    The temporary name keeps the target's suffix, because some writers (Keras) insist on it, and records
    its writer, so that the next write to the folder removes what a killed writer left (see
    :func:`is_stale_partial`). An interrupted or failed write leaves nothing that looks finished; an
    OSError (a full disk, a read-only folder) becomes one OutputError naming ``target``.
    """
    target = Path(target)
    clean_stale_partials(target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.{_writer_tag()}.", suffix=f".partial{target.suffix}", dir=target.parent
        )
    except OSError as exc:
        raise write_error(target, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a finished artifact gets the usual permissions
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(target, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staging_dir(folder: Path, stem: str) -> Iterator[Path]:
    """A hidden partial folder inside ``folder`` to build files in, removed when the block fails.

    A killed writer's folder is cleaned by the next write there, as partial files are.
    """
    clean_stale_partials(folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{stem}.{_writer_tag()}.", suffix=".partial", dir=folder))
    except OSError as exc:
        raise write_error(Path(folder) / stem, exc) from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def move_into(staging: Path, folder: Path, commit: str) -> None:
    """Move every file of ``staging`` into ``folder``, replacing what is there; ``commit`` goes last.

    ``folder``'s own ``commit`` file is removed first, so that at no moment does ``folder`` hold a
    ``commit`` file beside files it does not describe (renames in one folder take microseconds).
    """
    names = sorted(p.name for p in Path(staging).iterdir() if p.name != commit)
    try:
        (Path(folder) / commit).unlink(missing_ok=True)
        for name in [*names, commit]:
            os.replace(Path(staging) / name, Path(folder) / name)
    except OSError as exc:
        raise write_error(Path(folder) / commit, exc) from None


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write bytes to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(target: Path, payload: Any) -> None:
    """Write pretty, key-sorted JSON to ``target`` atomically."""
    write_bytes_atomic(target, (json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays reach manifests through metrics; Paths through options.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
