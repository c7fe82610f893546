"""Image operations for picture preprocessing that Pillow lacks, in numpy: running minima, openings along
rows, Otsu's threshold, connected components. Sized for pictures of a few hundred pixels a side."""

from __future__ import annotations

import numpy as np


def running_min(x: np.ndarray, length: int) -> np.ndarray:
    """min(x[..., i : i + length]) along the last axis (van Herk / Gil-Werman: O(n); 0 past the end)."""
    n = x.shape[-1]
    blocks = -(-(n + length) // length)
    padded = np.zeros((*x.shape[:-1], blocks * length), dtype=x.dtype)
    padded[..., :n] = x
    shaped = padded.reshape(*x.shape[:-1], blocks, length)
    prefix = np.minimum.accumulate(shaped, axis=-1).reshape(padded.shape)
    suffix = np.minimum.accumulate(shaped[..., ::-1], axis=-1)[..., ::-1].reshape(padded.shape)
    return np.minimum(suffix[..., :n], prefix[..., length - 1 : length - 1 + n])


def opened(x: np.ndarray, length: int) -> np.ndarray:
    """A morphological opening along the last axis with a flat run of ``length``: what is left is the part
    of ``x`` lying on straight runs at least that long."""
    eroded = running_min(x, length)
    # dilation over the run that ends at each pixel: a running max of the eroded values, shifted back
    n = x.shape[-1]
    padded = np.concatenate([np.zeros((*x.shape[:-1], length - 1), dtype=x.dtype), eroded], axis=-1)
    return -running_min(-padded, length)[..., :n]


def otsu(values: np.ndarray) -> float:
    """Otsu's threshold of non-negative values (a 256-bin histogram over their range)."""
    top = float(values.max())
    if top <= 0:
        return 0.0
    hist, edges = np.histogram(values, bins=256, range=(0.0, top))
    weights, centres = hist.astype(np.float64), (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(weights)
    mass = np.cumsum(weights * centres)
    total, total_mass = below[-1], mass[-1]
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * below - total * mass) ** 2 / (below * above)
    between[~np.isfinite(between)] = 0
    return float(centres[int(np.argmax(between))])


def components(mask: np.ndarray) -> np.ndarray:
    """4-connected component labels of a boolean mask (0 = background), by min-label propagation."""
    h, w = mask.shape
    labels = np.where(mask, np.arange(1, h * w + 1).reshape(h, w), 0)
    big = h * w + 1
    while True:
        current = np.where(mask, labels, big)
        shifted = current.copy()
        np.minimum(shifted[1:], current[:-1], out=shifted[1:])
        np.minimum(shifted[:-1], current[1:], out=shifted[:-1])
        np.minimum(shifted[:, 1:], current[:, :-1], out=shifted[:, 1:])
        np.minimum(shifted[:, :-1], current[:, 1:], out=shifted[:, :-1])
        updated = np.where(mask, shifted, 0)
        flat = updated.ravel()
        jumped = np.where(flat > 0, flat[np.maximum(flat - 1, 0)], 0).reshape(h, w)  # pointer jumping
        updated = np.where(mask, np.minimum(updated, np.where(jumped > 0, jumped, big)), 0)
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def max_filter(x: np.ndarray, size: int) -> np.ndarray:
    """The maximum over a centred ``size`` x ``size`` square at every pixel of a non-negative (H, W) array."""
    half = size // 2

    def along_rows(a: np.ndarray) -> np.ndarray:
        padded = np.concatenate([np.zeros((a.shape[0], half), dtype=a.dtype), a], axis=1)
        return -running_min(-padded, size)[:, : a.shape[1]]

    return along_rows(along_rows(x).T).T
