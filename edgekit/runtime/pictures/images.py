"""Turn files a user points at (PNG/JPEG, .npy, IDX, folders) into raw samples for a model's contract.

Arrays (.npy, IDX) are taken as they are; the contract checks their shape when predicting. Pictures are
resized to the contract's image size (grayscale or RGB), except for a 28x28 grayscale 8-bit model, whose
pictures are made the way MNIST itself was made (``edgekit.runtime.pictures.photo``: paper and grid lines taken
away, the digit cropped, fitted in 20x20 and centred). Alpha is composited onto white first.

Every file is checked before it is read: a regular file (FIFOs and devices are refused), of a sane size;
pictures are refused above ``MAX_IMAGE_PIXELS`` before they are decoded, and .npy headers are checked
against the file's size. A file that cannot be used is one :class:`ArtifactError` naming it.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgekit.bounds import MAX_IMAGE_PIXELS, load_npy, open_regular
from edgekit.contract import Contract
from edgekit.errors import ArtifactError, DataError
from edgekit.runtime.pictures.photo import mnist_style

__all__ = ["LoadedImages", "expand", "load_images", "mnist_style", "read_file"]

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
ARRAY_SUFFIXES = (".npy",)
MAX_PICTURE_BYTES = 256 << 20


@dataclass(frozen=True)
class LoadedImages:
    """Samples from one file, where they came from, and what was noticed reading them."""

    source: str  # the file (a string: thousands of Path objects cost a big folder's predict tens of ms)
    images: np.ndarray  # (N, *raw sample shape): uint8 pictures, or the array as stored (.npy, IDX)
    notes: tuple[str, ...] = ()

    @property
    def is_picture(self) -> bool:
        return os.path.splitext(self.source)[1].lower() in PICTURE_SUFFIXES


def _is_idx(path: str) -> bool:
    """IDX files by their conventional names (train-images-idx3-ubyte.gz, x.idx); a picture never is one."""
    name = os.path.basename(path).lower()
    if os.path.splitext(name)[1] in PICTURE_SUFFIXES + ARRAY_SUFFIXES:
        return False
    return name.endswith(("-ubyte", "-ubyte.gz", ".idx", ".idx.gz")) or "-idx" in name


def _decoded(img: Any, contract: Contract | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Pillow's part: the picture's pixels, grayscale for an MNIST-like model (alpha onto white), else resized
    to the contract's size and channels. Every error Pillow raises on a damaged file happens in here."""
    if img.mode == "L" and img.size == (28, 28) and not getattr(img, "is_animated", False) and _mnist_like(contract):
        return np.asarray(img), ()  # the common case, kept short: a folder of MNIST-like PNGs
    frames = getattr(img, "n_frames", 1)
    notes = (f"{frames} frames: the first one is used",) if frames > 1 else ()
    img.load()
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if _mnist_like(contract):
        return np.asarray(img if img.mode == "L" else img.convert("L")), notes
    h, w = contract.image_size  # type: ignore[union-attr,misc]
    img = img.convert("L" if contract.channels == 1 else "RGB")  # type: ignore[union-attr]
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8), notes


# what Pillow raises on damaged files: broken headers (SyntaxError for a truncated PNG IHDR), cut-off data
# (OSError, EOFError), bad compressed streams (zlib.error), inconsistent tables (IndexError in a GIF's frames,
# TypeError for a TIFF's missing dimensions, struct.error)
_DAMAGED = (UnidentifiedImageError, OSError, EOFError, SyntaxError, ValueError, IndexError, TypeError, struct.error,
            zlib.error, Image.DecompressionBombError)  # fmt: skip


def _mnist_like(contract: Contract | None) -> bool:
    return contract is None or (contract.is_8bit_image and contract.channels == 1 and contract.image_size == (28, 28))


def _load_picture(path: str, contract: Contract | None) -> LoadedImages:
    """One picture as a (1, H, W) or (1, H, W, 3) uint8 raw sample for ``contract``."""
    if contract is not None and not contract.is_image:
        raise ArtifactError(
            f"{path}: the model takes {contract.input_shape[0]} numbers per sample, not pictures",
            "pass a .npy array shaped (N, " + str(contract.input_shape[0]) + ")",
        )
    fh, _ = _opened(path, MAX_PICTURE_BYTES)
    try:
        with fh, Image.open(fh) as img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ArtifactError(
                    f"{path} is {w}x{h} pixels; edgekit reads pictures of at most {MAX_IMAGE_PIXELS:,} pixels",
                    "downscale it first",
                )
            pixels, notes = _decoded(img, contract)
    except _DAMAGED as exc:
        raise ArtifactError(f"{path} is not an image edgekit can read", "use PNG, JPEG, .npy or IDX files") from exc
    if not _mnist_like(contract):
        return LoadedImages(path, pixels[None], notes)
    digit = mnist_style(pixels)  # edgekit's own processing: a bug in it keeps its traceback
    return LoadedImages(path, digit.image[None], notes + (("blank: no ink found",) if digit.blank else ()))


def _opened(path: str, limit: int) -> tuple[IO[bytes], int]:
    try:
        return open_regular(path, limit)
    except DataError as exc:
        raise ArtifactError(exc.message, exc.hint) from None


def _load_array(path: str) -> LoadedImages:
    """A .npy array, its header checked against the file's size before anything is allocated."""
    try:
        return LoadedImages(path, load_npy(path, "array file"))
    except DataError as exc:
        raise ArtifactError(exc.message, exc.hint) from None


def read_file(path: str | Path, contract: Contract | None = None) -> LoadedImages:
    """The samples of one file for ``contract`` (None: a 28x28 grayscale MNIST-style model)."""
    path = str(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in ARRAY_SUFFIXES:
        return _load_array(path)
    if _is_idx(path):
        from edgekit.idx import read_idx

        try:
            return LoadedImages(path, read_idx(path))
        except DataError as exc:
            raise ArtifactError(exc.message, exc.hint) from exc
    return _load_picture(path, contract)


def _is_input(name: str) -> bool:
    """A file a folder is read for: not hidden (macOS's ._a.png, a killed writer's .x.partial.png), and a
    picture, an array or an IDX file by its name."""
    if name.startswith("."):
        return False
    suffix = os.path.splitext(name)[1].lower()
    return suffix in PICTURE_SUFFIXES or suffix in ARRAY_SUFFIXES or _is_idx(name)


def _listed(folder: Path) -> list[str]:
    """The names of the inputs in a folder; a folder that cannot be listed is one ArtifactError."""
    try:
        with os.scandir(folder) as entries:  # names as strings: sorting 10,000 Paths costs 70 ms
            return [e.name for e in entries if _is_input(e.name) and not e.is_dir()]
    except OSError as exc:
        raise ArtifactError(f"cannot list the folder {folder}: {exc.strerror or exc}") from None


def expand(paths: Iterable[str | Path]) -> Iterator[tuple[str, ArtifactError | None]]:
    """(file, None) for each file to read, folders expanded (their readable-looking files, sorted by name);
    (path, the error) for a folder with none or a path that does not exist."""
    for path in map(Path, paths):
        if not path.is_dir():
            yield str(path), None if path.exists() or path.is_symlink() else ArtifactError(f"{path} does not exist")
            continue
        try:
            names = sorted(_listed(path))
        except ArtifactError as exc:
            yield str(path), exc
            continue
        if not names:
            looked = ", ".join(PICTURE_SUFFIXES + ARRAY_SUFFIXES)
            yield str(path), ArtifactError(f"{path} holds no images", f"looked for {looked} and IDX files")
        folder = str(path)
        for name in names:
            yield os.path.join(folder, name), None


def count_inputs(paths: Iterable[str | Path]) -> int:
    """How many files ``expand`` would list (cheaper: names are counted, not sorted nor made Paths)."""
    total = 0
    for path in map(Path, paths):
        if path.is_dir():
            try:
                total += len(_listed(path))
            except ArtifactError:
                total += 1  # one error row
        else:
            total += 1
    return total


def load_images(path: Path, contract: Contract | None = None) -> list[LoadedImages]:
    """Images from a file or, for a folder, from every readable file in it (sorted by name), for ``contract``
    (None: a 28x28 grayscale MNIST-style model); the first problem is raised."""
    found = []
    for item, problem in expand([Path(path)]):
        if problem is not None:
            raise problem
        found.append(read_file(item, contract))
    return found
