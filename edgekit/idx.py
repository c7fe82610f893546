"""IDX files (the format of the original MNIST and Fashion-MNIST distributions), read and written with numpy.

The magic number is two zero bytes, a dtype code and the number of dimensions; then one big-endian
uint32 per dimension; then the data. Sizes are checked exactly: a truncated file is an error naming it.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from edgekit.bounds import check_claim, regular_file
from edgekit.errors import DataError

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or plain), checking its magic number and size before reading the data."""
    path = Path(path)
    size = regular_file(path, "IDX file")
    try:
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        with _open(path, gzipped) as stream:
            dims, dtype, header = _header(stream, path)
            expected = math.prod(dims) * dtype.itemsize
            check_claim(expected, None, str(path))
            if not gzipped and size - header != expected:  # refused before anything is read
                _size_mismatch(path, dims, f"{size - header}", expected)
            data = stream.read(expected + 1)  # one byte more than promised: trailing data is an error too
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile: OSError; cut off: EOFError; damaged: zlib.error
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if len(data) != expected:
        _size_mismatch(path, dims, f"more than {expected}" if len(data) > expected else f"{len(data)}", expected)
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _open(path: Path, gzipped: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


def _size_mismatch(path: Path, dims: tuple[int, ...], held: str, expected: int) -> NoReturn:
    raise DataError(
        f"{path} holds {held} data bytes but its header {dims} promises {expected}",
        "the file is truncated or corrupt; download it again",
    )


def _header(fh: IO[bytes], path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(dims, dtype, header length) from an IDX stream, or one DataError."""
    magic = fh.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {magic.hex() or 'empty'})")
    ndim = magic[3]
    raw_dims = fh.read(4 * ndim)
    if ndim == 0 or len(raw_dims) < 4 * ndim:
        raise DataError(f"{path} has a truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    return dims, np.dtype(_IDX_DTYPES[magic[2]]), 4 + 4 * ndim


def write_idx(path: Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write a uint8/int8 array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.asarray(array)
    if array.dtype not in _IDX_CODES:
        raise DataError(f"write_idx supports uint8 and int8 arrays, not {array.dtype}")
    header = bytes([0, 0, _IDX_CODES[array.dtype], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=6)
    path.write_bytes(payload)
