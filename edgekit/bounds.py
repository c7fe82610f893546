"""Bounded reads of the files users hand over: what a file claims is checked before anything is allocated.

A file is read only when it is a regular file (a FIFO would block forever, ``/dev/zero`` never ends);
an array's header (``.npy``, ``.npz`` members, IDX) must promise exactly the bytes the file holds, and
no more than this machine's memory; an image's pixel count is checked before it is decoded. Training
data (``edgekit.data``) and the device runtime's inputs (``edgekit.runtime.pictures.images``) both read through
here; errors are DataErrors, which the runtime re-raises as ArtifactErrors.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile
from pathlib import Path
from tokenize import TokenError
from typing import IO

import numpy as np

from edgekit.errors import DataError

MAX_IMAGE_PIXELS = 64_000_000  # an 8000x8000 photo; a model edgekit trains resizes to far less
_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def max_data_bytes() -> int:
    """The most bytes one data file may unpack to: this machine's physical memory."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16 << 30


def regular_file(path: str | Path, what: str = "data file") -> int:
    """The size of ``path``, which must be a regular file (symbolic links followed); else one DataError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise DataError(f"{what} {path} is {kind}, not a regular file", "give a file on disk")
    return info.st_size


def open_regular(path: str | Path, limit: int, what: str = "file") -> tuple[IO[bytes], int]:
    """``path`` open for reading and its size: a regular file of at most ``limit`` bytes, else one DataError.

    Opened without blocking and checked on the open descriptor, so a FIFO is refused instead of waited on,
    and the file checked is the file read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"{what} {path} is {_KINDS.get(stat.S_IFMT(info.st_mode), 'not a regular file')}, not a regular file"
    elif info.st_size > limit:
        problem = f"{what} {path} is {_size(info.st_size)}; edgekit reads files of at most {_size(limit)}"
    if problem:
        os.close(fd)
        raise DataError(problem)
    return os.fdopen(fd, "rb"), info.st_size


def check_claim(claimed: int, holds: int | None, where: str) -> None:
    """An array header's promise (bytes) against what the file holds and what memory can take."""
    limit = max_data_bytes()
    if claimed > limit:
        raise DataError(
            f"{where}: its header claims {_size(claimed)}, more than this machine's memory ({_size(limit)})",
            "the header is corrupt, or the data is too big to load at once",
        )
    if holds is not None and claimed != holds:
        raise DataError(
            f"{where}: its header claims {claimed:,} data bytes but the file holds {holds:,}",
            "the file is truncated or corrupt; write it again",
        )


def _size(n: int) -> str:
    if n >= 1 << 80:  # a crafted header can claim more bytes than a float can hold
        return "more than 1,000,000,000,000 TiB"
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):,.1f} {unit}"
    return f"{n:,} bytes"


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a .npy stream's header declares, leaving ``fh`` at the first data byte."""
    try:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(fh, max_header_size=10_000)
    except (ValueError, SyntaxError, TokenError, EOFError, OSError, TypeError) as exc:  # numpy's parse of the header
        raise DataError(f"{where} has a corrupt .npy header: {str(exc)[:160]}") from None
    if dtype.hasobject:
        raise DataError(f"{where} holds Python objects (a pickle), which edgekit refuses", "save plain numeric arrays")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise DataError(f"{where} has a corrupt .npy header: shape {shape}")
    return tuple(shape), dtype


def _claimed_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize  # Python ints: a header of 10**12 x 10**12 cannot overflow


def check_npz(path: Path) -> None:
    """Every member of an .npz: a .npy whose header promises exactly the bytes it holds, and fits in memory."""
    regular_file(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = 0
            for info in members:
                where = f"cannot read {path} as an .npz archive: member {info.filename}"
                with archive.open(info) as fh:
                    shape, dtype = _npy_header(fh, where)
                    header = fh.tell()
                claimed = _claimed_bytes(shape, dtype)
                check_claim(claimed, info.file_size - header, where)
                total += claimed
            check_claim(total, None, str(path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise DataError(f"cannot read {path} as an .npz archive: {str(exc)[:160]}") from None


def load_npy(path: str | Path, what: str = "array file") -> np.ndarray:
    """A .npy file, its header checked against its size before anything is allocated."""
    size = regular_file(path, what)
    where = f"cannot read {what} {path}"
    with open(path, "rb") as fh:
        shape, dtype = _npy_header(fh, where)
        check_claim(_claimed_bytes(shape, dtype), size - fh.tell(), where)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read {what} {path}: {str(exc)[:160]}") from None
