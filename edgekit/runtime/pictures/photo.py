"""A picture of one handwritten digit -> a 28x28 MNIST-style image (white ink on black, centred).

MNIST digits are white strokes on pure black, fitted in a 20x20 box and centred by their centre of mass
in a 28x28 image. Phone photos are nothing like that: grey paper, light that falls off across the sheet,
grid lines, noise. So, in order:

1. grayscale; ink is the minority of pixels, so the longer tail of the histogram says which way it goes
   (darker than the paper: dark ink on paper; near-ties go to the border: brighter than mid-grey is paper);
2. an image that is already 28x28 is used as it is (inverted when its border is brighter than mid-grey);
3. the picture is reduced to at most ``WORK_SIDE`` pixels a side, and the paper is estimated everywhere
   (a max filter wipes out the dark strokes, a blur smooths what is left) and subtracted: what remains is
   ink, whatever the light did;
4. straight lines running across ``LINE_SHARE`` of the picture, and on the second look (step 7) longer
   than the digit itself, are the paper's grid or ruling: they are found with a morphological opening
   along rows and columns and taken away (unless that takes away nearly all the ink: then the lines were
   the drawing);
5. ink is told from paper texture and what is left of the lines with Otsu's threshold, raised to at least
   ``MIN_INK_SHARE`` of the strongest ink (grid lines and noise are a fraction of a pen stroke);
6. the largest ink component is kept, with the components at least ``KEEP_SHARE`` of its size (the bar of
   a 5); specks are dropped, and so are components that touch the picture's edge (grid lines, the sheet's
   edge, shadows) unless nothing else is left;
7. the kept ink is cropped, stretched so that its strokes reach full white, fitted in the 20x20 box and
   centred by its centre of mass, as MNIST was made.

A picture with no ink at all comes back black with ``blank=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.runtime.pictures.morphology import components, max_filter, opened, otsu

BOX = 20  # MNIST digits are fitted in a 20x20 box inside the 28x28 image
WORK_SIDE = 192  # pixels a side the search for ink works at
MIN_INK_SHARE = 0.3  # of the 99.5th percentile of ink: below this is grid lines, texture, noise
KEEP_SHARE = 0.15  # components at least this share of the largest one are part of the digit
MIN_CONTRAST = 12.0  # grey levels of ink over paper below which a picture is blank
LINE_SHARE = 0.85  # of the picture's width (height): longer straight runs of ink are the paper's lines
LINES_KEEP = 0.25  # taking away lines must leave this share of the ink, or they were the digit
STRETCH, GAMMA = 75, 1.0  # ink at this percentile of the digit's becomes white; then this gamma
TAIL = 0.2  # percent of pixels on each side whose distance from the median says where the ink is


_BORDER_28 = np.flatnonzero(np.pad(np.zeros((26, 26), bool), 1, constant_values=True))  # the 108 edge pixels


@dataclass(frozen=True)
class Digit:
    """A picture made MNIST-style, and whether any ink was found in it."""

    image: np.ndarray  # (28, 28) uint8, white ink on black
    blank: bool


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float array resized to (width, height) = size, antialiased."""
    from PIL import Image

    return np.asarray(Image.fromarray(array.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))


def _paper(gray: np.ndarray, reach: int) -> np.ndarray:
    """The paper's brightness at every pixel, dark ink removed (gray: dark ink on light paper, float);
    ``reach`` (odd) must be wider than a pen stroke."""
    from PIL import Image, ImageFilter

    widened = Image.fromarray(np.clip(max_filter(gray, reach), 0, 255).astype(np.uint8))
    return np.asarray(widened.filter(ImageFilter.GaussianBlur(reach)), dtype=np.float32)


def _without_lines(ink: np.ndarray, along_rows: int, along_columns: int) -> np.ndarray:
    """Ink with the paper's straight lines (runs at least this long along rows, along columns) taken away."""
    lines = np.maximum(opened(ink, max(3, along_rows)), opened(ink.T, max(3, along_columns)).T)
    return np.clip(ink - lines, 0, None)


def dark_ink(gray: np.ndarray) -> bool:
    """Whether the ink is darker than the paper (see step 1 of the module docstring)."""
    low, median, high = np.percentile(gray, [TAIL, 50, 100 - TAIL])
    darker, brighter = median - low, high - median
    if abs(darker - brighter) > MIN_CONTRAST:
        return bool(darker > brighter)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return bool(border.mean() > 127)


def _digit_components(labels: np.ndarray) -> np.ndarray:
    """The labels that make up the digit: big enough, and off the picture's edge where possible."""
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    inside = ~np.isin(ids, edge)
    if inside.any():
        ids, sizes = ids[inside], sizes[inside]
    return ids[sizes >= KEEP_SHARE * sizes.max()]


def _kept_ink(ink: np.ndarray) -> np.ndarray | None:
    """The ink of the digit (other pixels zeroed), or None when there is none."""
    strongest = float(np.percentile(ink, 99.9))
    if strongest < MIN_CONTRAST:
        return None
    labels = components(ink > max(otsu(ink), MIN_INK_SHARE * strongest))
    if not labels.any():
        return None
    kept = np.isin(labels, _digit_components(labels))
    from PIL import Image, ImageFilter

    grown = Image.fromarray(kept.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))  # keep stroke edges
    return np.where(np.asarray(grown) > 0, ink, 0.0)


def _centred(digit: np.ndarray) -> np.ndarray:
    """Ink (float, >= 0, cropped to its box) fitted in the 20x20 box, centre of mass at the centre of 28x28."""
    h, w = digit.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.clip(_resize(digit, (new_w, new_h)), 0, 255)
    total = small.sum()
    cy = (small.sum(axis=1) * np.arange(new_h)).sum() / total if total else new_h / 2
    cx = (small.sum(axis=0) * np.arange(new_w)).sum() / total if total else new_w / 2
    top = int(np.clip(round(14 - cy), 0, 28 - new_h))
    left = int(np.clip(round(14 - cx), 0, 28 - new_w))
    canvas = np.zeros((28, 28), dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = np.rint(small).astype(np.uint8)
    return canvas


def _reduced(picture: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture at most WORK_SIDE a side, and the factor it was scaled by."""
    scale = min(1.0, WORK_SIDE / max(picture.shape))
    if scale == 1.0:
        return picture, 1.0
    h, w = picture.shape
    return _resize(picture, (max(1, round(w * scale)), max(1, round(h * scale)))), scale


def _ink(picture: np.ndarray, reach: int, lines: tuple[int, int]) -> np.ndarray | None:
    """The digit's ink in a picture (dark ink on light), paper and lines taken away; None when blank."""
    ink = np.clip(_paper(picture, reach) - picture, 0, None)
    cleaned = _without_lines(ink, *lines)
    return _kept_ink(cleaned if cleaned.sum() >= LINES_KEEP * ink.sum() else ink)


def _box(kept: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(kept.any(axis=1)), np.flatnonzero(kept.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _second_look(picture: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray | None:
    """The digit's ink again, from a crop of the full picture around where the first look found it: a
    small digit on a big sheet keeps its strokes."""
    top, bottom, left, right = (round(v / scale) for v in box)
    side = max(bottom - top, right - left)
    margin = side // 3 + 2
    crop = picture[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
    crop, factor = _reduced(crop)
    digit_side = side * factor
    # a stroke is about a sixth of the digit; no straight stroke is longer than the digit itself
    longest = int(1.1 * digit_side) + 1
    return _ink(crop, max(3, int(digit_side / 3) | 1), (longest, longest))


def mnist_style(gray: np.ndarray) -> Digit:
    """A (H, W) uint8 grayscale picture -> its MNIST-style 28x28 digit (see the module docstring)."""
    gray = np.asarray(gray, dtype=np.uint8)
    if gray.shape == (28, 28):
        image = 255 - gray if int(gray.take(_BORDER_28).sum()) > 127 * len(_BORDER_28) else gray
        return Digit(image, blank=int(image.max()) - int(image.min()) < MIN_CONTRAST)
    picture = gray.astype(np.float32) if dark_ink(gray) else 255 - gray.astype(np.float32)  # dark ink on light
    small, scale = _reduced(picture)
    across = (int(LINE_SHARE * small.shape[1]), int(LINE_SHARE * small.shape[0]))
    kept = _ink(small, max(3, (max(small.shape) // 12) | 1), across)
    if kept is None:
        return Digit(np.zeros((28, 28), dtype=np.uint8), blank=True)
    if scale < 1.0:
        kept = _second_look(picture, _box(kept), scale)
    if kept is None:
        return Digit(np.zeros((28, 28), dtype=np.uint8), blank=True)
    top, bottom, left, right = _box(kept)
    crop = kept[top:bottom, left:right]
    full = float(np.percentile(crop[crop > 0], STRETCH))  # strokes' cores reach white, as in MNIST
    return Digit(_centred(255.0 * np.clip(crop / max(full, 1e-6), 0, 1) ** GAMMA), blank=False)
