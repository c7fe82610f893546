"""What the guards against hostile model files (edgekit.runtime.safety.admission) cost at load time, per artifact.

    python benchmarks/load_time.py edgekit-runs/dense-mnist/artifacts [more dirs or files] [--rounds 9]

In one process, for each artifact, the median wall time of ``edgekit.runtime.load`` (file read, checks,
interpreter session, metadata, contract):

- unguarded: ``admit`` replaced by a no-op, i.e. edgekit before issue 11;
- verdict: the structural check, a sha256 and a stat (the file passed the probe on this machine before);
- first load: a file never seen here: the probe in a child process as well;

Rounds alternate between the variants so that drift on a shared machine hits them alike. ``predict`` is
not touched by any of this: benchmarks/runtime_overhead.py measures it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import edgekit.runtime.model as model_module
from edgekit.runtime import load
from edgekit.runtime.safety.admission import admit


def _unguarded(*args: Any, **kwargs: Any) -> None:
    return None


def _first_load(*args: Any, **kwargs: Any) -> None:
    with tempfile.TemporaryDirectory() as empty:  # no verdict on record: the probe runs
        os.environ["EDGEKIT_CACHE_DIR"] = empty
        admit(*args, **kwargs)


def _time_load(path: Path, guard: Callable[..., None]) -> float:
    model_module.admit = guard  # type: ignore[assignment]
    t = time.perf_counter()
    load(path, num_threads=1)
    return (time.perf_counter() - t) * 1e3


def measure(path: Path, cache: str, rounds: int) -> dict[str, object]:
    variants: dict[str, Callable[..., None]] = {
        "unguarded": _unguarded,
        "verdict": admit,
        "first load": _first_load,
    }
    os.environ["EDGEKIT_CACHE_DIR"] = cache
    _time_load(path, admit)  # warm-up; records the verdict
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, guard in variants.items():
            times[name].append(_time_load(path, guard))
            os.environ["EDGEKIT_CACHE_DIR"] = cache
    model_module.admit = admit
    row: dict[str, object] = {"artifact": path.name, "model": path.parent.parent.name}
    row.update({k: round(float(np.median(v)), 1) for k, v in times.items()})
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="artifact files or folders of them")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    files = []
    for p in args.paths:
        files += sorted(x for x in p.iterdir() if x.suffix in (".tflite", ".onnx")) if p.is_dir() else [p]
    print(f"{'model':<14}{'artifact':<24}{'unguarded':>10}{'verdict':>10}{'first load':>12}  (ms)")
    with tempfile.TemporaryDirectory() as cache:
        for f in files:
            r = measure(f, cache, args.rounds)
            print(f"{r['model']:<14}{r['artifact']:<24}{r['unguarded']:>10}{r['verdict']:>10}{r['first load']:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
