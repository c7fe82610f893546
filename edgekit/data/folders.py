"""A folder of images with one subfolder per class, read with Pillow.

The sorted subfolder names are the class names. Hidden files and folders (a leading dot) are skipped;
every other file must be an image Pillow can read. With a contract, images are converted to its channel
count ("L" or "RGB") and resized to its image size (LANCZOS); without one they keep their own size,
which must then be the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.bounds import MAX_IMAGE_PIXELS, regular_file
from edgekit.contract import Contract
from edgekit.errors import DataError

GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # more than 8 bits: checked, never clipped


@dataclass(frozen=True)
class FolderImages:
    """Every image of a class-folder tree, labelled by the index of its folder among the sorted names."""

    images: np.ndarray  # (N, H, W) or (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _visible(entries: list[Path]) -> list[Path]:
    return sorted(p for p in entries if not p.name.startswith("."))


def class_folders(folder: Path) -> list[Path]:
    """The class subfolders of ``folder``, sorted; a layout that is not one folder per class is an error."""
    entries = _visible(list(folder.iterdir()))
    subfolders = [p for p in entries if p.is_dir()]
    if not entries:
        raise DataError(f"{folder} is empty", "put one subfolder of images per class in it")
    if not subfolders:
        raise DataError(
            f"{folder} holds files but no class subfolders",
            "expected one subfolder per class (e.g. cats/, dogs/), each holding that class's images",
        )
    stray = [p.name for p in entries if not p.is_dir()]
    if stray:
        raise DataError(
            f"{folder} mixes files ({stray[0]}) with class subfolders",
            "expected only one subfolder per class; move the files into their class's folder",
        )
    return subfolders


def _image_files(class_dir: Path) -> list[Path]:
    files = _visible(list(class_dir.iterdir()))
    nested = [p.name for p in files if p.is_dir()]
    if nested:
        raise DataError(
            f"class folder {class_dir} holds a subfolder ({nested[0]})", "each class folder must hold image files only"
        )
    if not files:
        raise DataError(f"class folder {class_dir} holds no images")
    return files


def _read_image(path: Path, channels: int | None, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 (H, W) or (H, W, 3); ``channels`` None keeps grayscale as grayscale."""
    from PIL import Image

    regular_file(path, "image")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:  # checked before a pixel is decoded
                raise DataError(
                    f"image {path} is {width}x{height} ({width * height:,} pixels), more than edgekit decodes "
                    f"({MAX_IMAGE_PIXELS:,})",
                    "resize it first, or remove it",
                )
            image.load()
            if image.mode in WIDE_MODES:
                peak = float(np.asarray(image).max(initial=0))
                if peak > 255:
                    raise DataError(
                        f"image {path} holds values up to {peak:g} ({image.mode}); edgekit reads 8-bit images (0..255)",
                        "save it as an 8-bit image",
                    )
                image = Image.fromarray(np.asarray(image).astype(np.uint8))
            gray = image.mode in GRAY_MODES if channels is None else channels == 1
            image = image.convert("L" if gray else "RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.LANCZOS)
            return np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as exc:  # Pillow's own limit (2x its MAX_IMAGE_PIXELS) came first
        raise DataError(
            f"image {path} holds more pixels than edgekit decodes ({MAX_IMAGE_PIXELS:,}): {exc}",
            "resize it first, or remove it",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"cannot read image {path}: {str(exc)[:200]}", "remove or replace the file") from None


def _stack(arrays: list[np.ndarray], paths: list[Path]) -> tuple[np.ndarray, list[str]]:
    """Stack images of one size; grayscale ones are expanded to RGB when the folder mixes both."""
    notes = []
    if any(a.ndim == 3 for a in arrays) and any(a.ndim == 2 for a in arrays):
        arrays = [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
        notes.append("grayscale and colour images mixed: all read as RGB")
    first = arrays[0].shape
    for array, path in zip(arrays, paths, strict=True):
        if array.shape[:2] != first[:2]:
            raise DataError(
                f"image {path} is {array.shape[1]}x{array.shape[0]} but {paths[0]} is {first[1]}x{first[0]}",
                "give a model (its size is then used), or resize the images",
            )
    return np.stack(arrays), notes


def read_class_folders(folder: Path, contract: Contract | None = None) -> FolderImages:
    """Every image under ``folder``'s class subfolders, converted and resized to ``contract`` if given."""
    folder = Path(folder)
    if contract is not None and not contract.is_image:
        raise DataError(f"{folder} is a folder of images, but the model takes feature vectors {contract.input_shape}")
    channels = None if contract is None else contract.channels
    size = None if contract is None else contract.image_size
    classes = class_folders(folder)
    paths: list[Path] = []
    labels: list[int] = []
    for index, class_dir in enumerate(classes):
        files = _image_files(class_dir)
        paths += files
        labels += [index] * len(files)
    arrays = [_read_image(path, channels, size) for path in paths]
    images, notes = _stack(arrays, paths)
    if size is not None:
        notes.append(
            f"images read as {'grayscale' if channels == 1 else 'RGB'} and resized to {size[0]}x{size[1]} "
            "(LANCZOS) where needed"
        )
    return FolderImages(images, np.asarray(labels, dtype=np.int64), tuple(p.name for p in classes), tuple(notes))
