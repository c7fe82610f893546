"""Reading many files: in this process, or in worker processes for big folders of pictures.

Decoding a small PNG is mostly Python (Pillow's header parsing), which holds the GIL, so threads do not help;
worker processes do (this process reading a share of the chunks too was measured slower: inference waits
while it decodes). Workers are forked when the decoder is opened, before any interpreter exists in this
process (a fork with an interpreter's threads running could deadlock the child), and they only ever read
files with Pillow and numpy. Folders of fewer than ``PARALLEL_FILES`` files, one-core machines and systems
without fork (macOS, Windows) read in this process: starting workers would cost more than it saves.

    with Decoder.for_paths(paths) as decoder:   # before load(): workers are forked here
        model = load(artifact)
        for item in decoder.read(entries, model.contract): ...
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from edgekit.contract import Contract
from edgekit.errors import ArtifactError
from edgekit.runtime.pictures.images import LoadedImages, count_inputs, read_file

PARALLEL_FILES = 1024  # below this many files, reading them here is quicker than starting workers
CHUNK = 256  # files per task
MAX_WORKERS = 4

Entry = tuple[str, ArtifactError | None]  # a file to read, or the problem found where it was named


@dataclass(frozen=True)
class Failure:
    """A file that could not be read, and why."""

    source: str
    error: ArtifactError


def read_entry(entry: Entry, contract: Contract | None) -> LoadedImages | Failure:
    """One file's samples for ``contract``, or why it cannot be used."""
    path, problem = entry
    if problem is not None:
        return Failure(path, problem)
    try:
        return read_file(path, contract)
    except ArtifactError as exc:
        return Failure(path, exc)


@dataclass(frozen=True)
class _Chunk:
    """What a worker read, packed to cross the process boundary cheaply: the one-sample pictures' pixels in
    one array (pickling thousands of tiny arrays costs more than decoding them), the rest as they are."""

    pixels: np.ndarray | None  # (M, ...) the samples of the one-sample items, in order
    items: list[LoadedImages | Failure | tuple[str, tuple[str, ...]]]  # a tuple: the next row of ``pixels``

    def unpacked(self) -> Iterator[LoadedImages | Failure]:
        row = 0
        for item in self.items:
            if isinstance(item, tuple):
                yield LoadedImages(item[0], self.pixels[row : row + 1], item[1])  # type: ignore[index]
                row += 1
            else:
                yield item


def _read_chunk(entries: list[Entry], contract: Contract | None) -> _Chunk:
    read = [read_entry(e, contract) for e in entries]
    single = [r for r in read if isinstance(r, LoadedImages) and len(r.images) == 1 and r.is_picture]
    if not single or len({r.images.shape for r in single}) != 1:
        return _Chunk(None, list(read))
    packed = {id(r) for r in single}
    items = [(r.source, r.notes) if id(r) in packed else r for r in read]  # type: ignore[union-attr]
    return _Chunk(np.concatenate([r.images for r in single]), items)


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no worker tracebacks


def _noop() -> None:
    return None


class Decoder:
    """Reads entries in order, with worker processes when it was opened with some (see the module docstring)."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers
        self._pool: Executor | None = None

    @staticmethod
    def for_paths(paths: Iterable[str | Path]) -> Decoder:
        """A decoder sized for what ``paths`` hold: workers only for a big job on a machine that has cores."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < 2 or sys.platform != "linux":
            return Decoder(0)
        files = count_inputs(paths)
        return Decoder(min(cores, MAX_WORKERS) if files >= PARALLEL_FILES else 0)

    def __enter__(self) -> Decoder:
        if self.workers:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_quiet_worker)
            for future in [self._pool.submit(_noop) for _ in range(self.workers)]:
                future.result()  # forked now, before the caller loads an interpreter
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=kind is None, cancel_futures=True)
            self._pool = None

    def read(self, entries: Iterable[Entry], contract: Contract | None) -> Iterator[LoadedImages | Failure]:
        """Each entry read for ``contract``, in order."""
        if self._pool is None:
            yield from (read_entry(e, contract) for e in entries)
            return
        listed = list(entries)
        chunks = [listed[i : i + CHUNK] for i in range(0, len(listed), CHUNK)]
        pool, ahead = self._pool, 4 * self.workers  # chunks decoded ahead: bounds memory for big pictures
        pending = {i: pool.submit(_read_chunk, chunks[i], contract) for i in range(min(ahead, len(chunks)))}
        try:
            for i in range(len(chunks)):
                if i + ahead < len(chunks):
                    pending[i + ahead] = pool.submit(_read_chunk, chunks[i + ahead], contract)
                yield from pending.pop(i).result().unpacked()
        except BrokenProcessPool as exc:
            raise ArtifactError(
                "a picture crashed the process decoding it", "find it by predicting the folder in parts"
            ) from exc
