"""The interface every interpreter backend implements (one small class per interpreter implements it).

A session runs inputs already in the model's dtype and shape (``run``), fills the input tensor in place
and runs (``mapped``, the hot path of ``Model.predict``), and hands out pre-bound calls for timing
(``bind``). Errors the interpreter raises at first use (an op it cannot run, an unsupported zero point)
become one :class:`ArtifactError` naming the file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgekit.errors import ArtifactError
from edgekit.runtime.tensors import TensorInfo
from edgekit.versions import package_version

Mapper = Any  # edgekit.runtime.pixels.PixelMapper: raw samples -> the input tensor array, or into a view
MappedRun = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]  # (raw samples, input shape) -> raw output


class Session:
    """The interface every backend implements; see the module docstring."""

    name: ClassVar[str]
    module: ClassVar[str]  # what to import
    distributions: ClassVar[tuple[str, ...]]  # whose version to report
    concurrent: ClassVar[bool]
    input: TensorInfo
    output: TensorInfo
    path: Path

    @classmethod
    def import_module(cls) -> Any | None:
        """The backend's module, or None when it is not installed."""
        try:
            return importlib.import_module(cls.module)
        except ImportError:
            return None

    @classmethod
    def version(cls) -> str | None:
        return next((v for v in map(package_version, cls.distributions) if v), None)

    def run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mapped(self, mapper: Mapper) -> MappedRun:
        """A pre-bound ``run(raw, shape)``: map raw samples into an input of ``shape`` and run it (the mapping
        happens inside the session's lock where there is one)."""
        raise NotImplementedError

    def bind(self, x: np.ndarray) -> Callable[[], np.ndarray]:
        raise NotImplementedError


def run_failed(path: Path, backend: str, exc: BaseException) -> ArtifactError:
    """The error for an interpreter call that raised: the file, the interpreter and its first line."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return ArtifactError(
        f"{path}: {backend} failed to run the model: {first}",
        "the model uses something this interpreter cannot run; try another --backend or re-export it",
    )


def single(details: list[Any], what: str, path: Path) -> Any:
    """The one input (or output) of a classifier; several are one clear error."""
    if len(details) != 1:
        raise ArtifactError(
            f"{path} has {len(details)} {what}s; edgekit runs single-input, single-output classifiers",
            "export the classifier alone (one image tensor in, one score vector out)",
        )
    return details[0]
