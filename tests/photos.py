"""Pictures that imitate phone photos of handwritten digits on paper, made from real MNIST digits.

A 28x28 MNIST digit (white ink on black) is enlarged and printed as dark ink on grey grid paper, with light
that falls off across the sheet, camera noise, a little blur and JPEG compression, in colour.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def phone_photo(digit: np.ndarray, seed: int, size: tuple[int, int] = (480, 640)) -> Image.Image:
    """One RGB JPEG-compressed picture of ``digit`` (28x28 uint8, white on black) on lined paper."""
    rng = np.random.default_rng(seed)
    height, width = size
    paper = rng.uniform(150, 195)  # grey, not white: phone cameras under room light
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (cols / width - 0.5) + np.sin(angle) * (rows / height - 0.5)) * rng.uniform(40, 70)
    light = paper + ramp - 25 * ((rows / height - 0.5) ** 2 + (cols / width - 0.5) ** 2)  # and a vignette
    sheet = light.copy()
    step = int(rng.integers(24, 40))
    grid = (rows.astype(int) % step < 2) | (cols.astype(int) % step < 2)
    sheet[grid] -= rng.uniform(15, 30)  # faint grid lines
    box = int(rng.integers(int(0.3 * height), int(0.5 * height)))
    ink = np.asarray(Image.fromarray(digit).resize((box, box), Image.Resampling.BICUBIC), dtype=np.float64) / 255
    top = int(rng.integers(height // 2 - box // 2 - 40, height // 2 - box // 2 + 40))
    left = int(rng.integers(width // 2 - box // 2 - 60, width // 2 - box // 2 + 60))
    window = sheet[top : top + box, left : left + box]
    darkness = rng.uniform(0.25, 0.45)  # pen ink reflects a quarter to half of what paper does
    window[:] = window * (1 - ink) + light[top : top + box, left : left + box] * darkness * ink
    sheet += rng.normal(0, rng.uniform(3, 7), sheet.shape)
    tint = np.array([1.0, 0.98, 0.93]) * rng.uniform(0.95, 1.05)  # warm light
    rgb = np.clip(sheet[..., None] * tint, 0, 255).astype(np.uint8)
    picture = Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    buffer.seek(0)
    return Image.open(buffer)


def tablet_drawing(digit: np.ndarray, size: int = 280) -> Image.Image:
    """Black strokes on a white canvas, as a drawing app exports them."""
    ink = np.asarray(Image.fromarray(digit).resize((size // 2, size // 2), Image.Resampling.BICUBIC))
    canvas = np.full((size, size), 255, dtype=np.uint8)
    canvas[size // 4 : size // 4 + size // 2, size // 4 : size // 4 + size // 2] = 255 - ink
    return Image.fromarray(canvas)
