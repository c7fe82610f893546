"""The interface every interpreter backend implements (one small class per interpreter implements it).

A session runs inputs already in the model's dtype and shape (``run``), hands out prepared calls that
fill a buffer of one shape (or the input tensor itself) and run it (``prepared``, the hot path of
``Model.runner`` and ``Model.predict``), and pre-bound calls on fixed input for timing (``bind``).
Errors the interpreter raises at first use (an op it cannot run, an unsupported zero point) become one
:class:`ArtifactError` naming the file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgekit.errors import ArtifactError
from edgekit.runtime.tensors import TensorInfo
from edgekit.versions import package_version

UINT8 = np.dtype(np.uint8)
Step = tuple[Callable[[np.ndarray, Any, np.ndarray], object], Any, np.ndarray]  # (ufunc, operand, out)


@dataclass(frozen=True)
class Prepared:
    """What a prepared call needs (``runtime.runner`` builds it): see ``Session.prepared``."""

    buffer: np.ndarray  # the input, in the model's dtype and shape, allocated once
    steps: dict[tuple[int, ...], Step]  # uint8 raw shape -> the one ufunc that writes ``buffer`` from it
    in_place: Callable[[np.ndarray, np.ndarray], object] | None  # (raw, input tensor) -> fills it; big batches
    steps_for: Callable[[np.ndarray], dict[tuple[int, ...], Step]]  # the same steps writing another array (a tensor)
    result: Callable[[np.ndarray], Any]  # raw output -> the light result
    fallback: Callable[[Any], Any]  # any other input -> the general path's result
    own: bool = False  # the call is for one thread: a session with a lock may give it an interpreter of its own


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

    def prepared(self, prepared: Prepared) -> Callable[[Any], Any]:
        """One flat call ``run(raw)``: uint8 samples of a shape in ``steps`` are written into the buffer by
        their ufunc, run, and wrapped by ``result``; anything else goes to ``fallback``. A session that can
        hand out its input tensor may fill it with ``in_place`` instead (saves a copy on big batches), or,
        for a call of its own (``own``), write the tensor through ``steps_for(tensor)``. Filling happens inside
        the session's lock where there is one."""
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
