"""Peak memory of one artifact's interpreter, measured in a child process of its own.

A process that has run other models (and bench's, which holds Keras) says nothing about one artifact; a
fresh child imports numpy and the interpreter, then loads the file and runs it (see ``memory_child.py``).
The figures are Linux's (/proc/self/status); elsewhere the measurement is left out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edgekit.benchmarks.costs import PeakMemory
from edgekit.formats import Format

CHILD = Path(__file__).with_name("memory_child.py")
RUNS = 10
TIMEOUT_S = 120.0
# -c puts the working directory first on sys.path, where a stray numpy.py would shadow the real one
_BOOTSTRAP = (
    "import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def peak_memory(path: Path, fmt: Format, interpreter_module: str, threads: int | None) -> PeakMemory | None:
    """What loading ``path`` and running it at batch 1 adds to a fresh process (None where it cannot be read)."""
    if not Path("/proc/self/status").exists():
        return None
    command = [sys.executable, "-c", _BOOTSTRAP, str(CHILD), fmt.value, interpreter_module, str(threads or 0)]
    command += [str(RUNS), str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:  # the artifact already loaded and ran in bench's own process: not a user mistake
        return None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        figures = json.loads(lines[-1])
        peak = (figures["hwm_after_kib"] - figures["rss_before_kib"]) / 1024
        heap_after, heap_before = figures.get("anon_after_kib"), figures.get("anon_before_kib")
    except (IndexError, ValueError, KeyError, TypeError):
        return None
    heap = (heap_after - heap_before) / 1024 if heap_after is not None and heap_before is not None else None
    note = None if figures.get("reset") else "the high-water mark could not be reset after the imports"
    return PeakMemory(round(max(peak, 0.0), 2), None if heap is None else round(heap, 2), note=note)
