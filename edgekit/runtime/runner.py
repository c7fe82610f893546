"""A prepared call: ``model.runner(batch)`` -> ``run(images) -> Prediction``, the runtime's hot path.

    run = model.runner(1)
    for image in camera:                      # uint8 (28, 28) or (1, 28, 28)
        label = run(image).labels[0]

Everything that does not change between calls is done once: set_tensor/invoke/get_tensor are bound, the
input buffer is allocated in the model's dtype and shape, and the pixel mapping with the input quantization
folded in is one numpy ufunc writing that buffer (``runtime.pictures.pixels``); the result stores only the raw output
and works out labels and probabilities when asked. Inputs the prepared call does not fit (another shape,
another dtype, a model whose preprocessing varies per pixel) take ``Model.predict``'s general path, so a
runner always answers exactly what ``predict`` answers.

A runner keeps one buffer and, for TFLite, an interpreter of its own at its batch size (no lock, no resize
check per call): use it from one thread (make one per thread; ``Model.predict`` is thread-safe).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.runtime.pictures.pixels import SMALL, PixelFill
from edgekit.runtime.prediction import Prediction
from edgekit.runtime.session import Prepared, Session, Step

Runner = Callable[[Any], Prediction]


@dataclass(frozen=True)
class RunnerPlan:
    """What a model knows once loaded, which every runner of it shares."""

    session: Session
    pixels: PixelFill | None  # uint8 pixels -> input tensor values in one ufunc, or None: no prepared call
    item_shape: tuple[int, ...]  # one sample as the interpreter takes it
    sample_shapes: tuple[tuple[int, ...], ...]  # one raw sample as users hand it over (raw and model shapes)
    batches: Callable[[int], bool]  # which batch sizes one interpreter call takes
    result: Callable[[np.ndarray], Prediction]
    general: Runner  # the general path (any input; chunks, pads, checks)


def _steps(pixels: PixelFill, samples: tuple[tuple[int, ...], ...], buffer: np.ndarray) -> dict[tuple[int, ...], Step]:
    """One ufunc step per raw shape a batch may come in, each writing the same buffer."""
    batch = len(buffer)
    shapes = [(batch, *s) for s in samples] + (list(samples) if batch == 1 else [])
    return {s: pixels.step(buffer.reshape(s).view(pixels.view_dtype)) for s in dict.fromkeys(shapes)}


def prepare(plan: RunnerPlan, batch: int, own: bool = False) -> Runner:
    """A runner for batches of ``batch`` uint8 samples; see the module docstring. ``own``: for one thread,
    on an interpreter of its own where the backend serialises calls (TFLite), so no call waits on a lock."""
    pixels = plan.pixels
    if pixels is None or not plan.batches(batch):
        return plan.general
    buffer = np.empty((batch, *plan.item_shape), dtype=plan.session.input.dtype)
    steps = _steps(pixels, plan.sample_shapes, buffer)
    in_place = pixels.write if buffer.size > SMALL else None
    steps_for = functools.partial(_steps, pixels, plan.sample_shapes)
    run: Runner = plan.session.prepared(Prepared(buffer, steps, in_place, steps_for, plan.result, plan.general, own))
    return run
