"""Image fingerprints: a stable 64-bit hash per image, to find evaluation images that were trained on."""

from __future__ import annotations

import hashlib

import numpy as np


def _canonical(images: np.ndarray) -> np.ndarray:
    """Integer images as uint8 when they fit (pixels), everything else as float32: one form per image."""
    array = np.asarray(images)
    if array.dtype.kind in "uib" and (array.size == 0 or (array.min() >= 0 and array.max() <= 255)):
        return np.ascontiguousarray(array, dtype=np.uint8)
    return np.ascontiguousarray(array, dtype=np.float32)


def fingerprints(images: np.ndarray) -> np.ndarray:
    """One uint64 per image: the first 8 bytes of blake2b over its dtype, shape and bytes.

    Integer 0..255 images hash as uint8 and others as float32, so the same pixels stored as uint8 or
    int64 match; the same pixels as uint8 and as float32 do not (they are different data to a model).
    """
    array = _canonical(images)
    if array.ndim == 0:
        raise ValueError("fingerprints takes a batch of images (N, ...)")
    prefix = f"{array.dtype.str}{array.shape[1:]}".encode()
    out = np.empty(array.shape[0], dtype=np.uint64)
    for i, image in enumerate(array):
        digest = hashlib.blake2b(prefix, digest_size=8)
        digest.update(image.tobytes())
        out[i] = int.from_bytes(digest.digest(), "little")
    return out


def count_overlap(images: np.ndarray, known: np.ndarray) -> int:
    """How many of ``images`` have a fingerprint in ``known`` (e.g. the training split's fingerprints)."""
    if len(known) == 0 or len(images) == 0:
        return 0
    return int(np.isin(fingerprints(images), np.asarray(known, dtype=np.uint64)).sum())
