"""Turn files a user points at (PNG/JPEG, .npy, IDX, folders) into raw samples for a model's contract.

Arrays (.npy, IDX) are taken as they are; the contract checks their shape when predicting. Pictures are
resized to the contract's image size (grayscale or RGB), except for a 28x28 grayscale 8-bit model, whose
pictures are made the way MNIST itself was made:

1. convert to 8-bit grayscale (alpha is composited onto white first);
2. if the border is brighter than the middle grey (mean of the outermost pixels > 127), the picture is dark
   ink on a light background, and is inverted so that ink is white on black as in MNIST;
3. an image that is already 28x28 is used as it is (after step 2);
4. otherwise the ink's bounding box (pixels above 20% of the brightest) is cropped, scaled so that its
   longer side is 20 pixels (aspect ratio kept, antialiased), and pasted into a 28x28 black canvas so that
   its centre of mass sits at the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.contract import Contract
from edgekit.errors import ArtifactError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
ARRAY_SUFFIXES = (".npy",)
INK_THRESHOLD = 0.2
BOX = 20  # MNIST digits are fitted in a 20x20 box inside the 28x28 image


@dataclass(frozen=True)
class LoadedImages:
    """Images from one file, and where they came from."""

    source: Path
    images: np.ndarray  # (N, *raw sample shape): uint8 pictures, or the array as stored (.npy, IDX)


def _is_idx(path: Path) -> bool:
    name = path.name.lower()
    return "idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz")


def mnist_style(gray: np.ndarray) -> np.ndarray:
    """A (H, W) uint8 grayscale picture -> (28, 28) uint8, white ink on black, centred (see module doc)."""
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 127:
        gray = 255 - gray
    if gray.shape == (28, 28):
        return gray
    ink = gray > INK_THRESHOLD * max(int(gray.max()), 1)
    if not ink.any():
        return np.asarray(Image.fromarray(gray).resize((28, 28), Image.Resampling.LANCZOS))
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    digit = np.asarray(Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.float64)
    total = digit.sum()
    cy = (digit.sum(axis=1) * np.arange(new_h)).sum() / total if total else new_h / 2
    cx = (digit.sum(axis=0) * np.arange(new_w)).sum() / total if total else new_w / 2
    top = int(np.clip(round(14 - cy), 0, 28 - new_h))
    left = int(np.clip(round(14 - cx), 0, 28 - new_w))
    canvas = np.zeros((28, 28), dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = np.clip(digit, 0, 255).astype(np.uint8)
    return canvas


def _mnist_like(contract: Contract | None) -> bool:
    return contract is None or (contract.is_8bit_image and contract.channels == 1 and contract.image_size == (28, 28))


def _load_picture(path: Path, contract: Contract | None) -> np.ndarray:
    """One picture as a (1, H, W) or (1, H, W, 3) uint8 raw sample for ``contract``."""
    from PIL import Image, UnidentifiedImageError

    if contract is not None and not contract.is_image:
        raise ArtifactError(
            f"{path}: the model takes {contract.input_shape[0]} numbers per sample, not pictures",
            "pass a .npy array shaped (N, " + str(contract.input_shape[0]) + ")",
        )
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            if _mnist_like(contract):
                return mnist_style(np.asarray(img.convert("L")))[None]
            h, w = contract.image_size  # type: ignore[union-attr,misc]
            img = img.convert("L" if contract.channels == 1 else "RGB")  # type: ignore[union-attr]
            if img.size != (w, h):
                img = img.resize((w, h), Image.Resampling.LANCZOS)
            return np.asarray(img, dtype=np.uint8)[None]
    except (UnidentifiedImageError, OSError) as exc:
        raise ArtifactError(f"{path} is not an image edgekit can read", "use PNG, JPEG, .npy or IDX files") from exc


def _load_array(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{path} is not a readable .npy array: {str(exc).splitlines()[0]}") from exc
    return array


def load_images(path: Path, contract: Contract | None = None) -> list[LoadedImages]:
    """Images from a file or, for a folder, from every readable file in it (sorted by name), for ``contract``
    (None: a 28x28 grayscale MNIST-style model)."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and (p.suffix.lower() in PICTURE_SUFFIXES + ARRAY_SUFFIXES or _is_idx(p))
        )
        if not files:
            raise ArtifactError(
                f"{path} holds no images", f"looked for {', '.join(PICTURE_SUFFIXES + ARRAY_SUFFIXES)} and IDX files"
            )
        return [item for f in files for item in load_images(f, contract)]
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return [LoadedImages(path, _load_array(path))]
    if _is_idx(path):
        from edgekit.data.idx import read_idx
        from edgekit.errors import DataError

        try:
            return [LoadedImages(path, read_idx(path))]
        except DataError as exc:
            raise ArtifactError(exc.message, exc.hint) from exc
    return [LoadedImages(path, _load_picture(path, contract))]
