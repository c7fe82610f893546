"""Run model files in a child process and say what happened to each: a signal, a hang, a traceback, an
error, or a prediction. A crash takes only its file: the child is restarted after it.

    python -m tests.fuzz_runner MODE FILE...     # MODE: edgekit (load + predict) or raw (the interpreter alone)

The child prints ``start I`` before file I and one JSON line after it; the parent reads them with a deadline.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Outcome:
    path: str
    kind: str  # loaded | validator | probe | edgekit-error | error (raw mode) | traceback | signal | hang
    detail: str


def classify(message: str) -> str:
    """Which of edgekit's guards rejected a file, from its one-line error."""
    if " is not a valid " in message:
        return "validator"
    if any(k in message for k in ("crashed the interpreter", "hung the interpreter", "the interpreter failed while")):
        return "probe"
    return "edgekit-error"


# ------------------------------------------------------------------------------------------ the child
def _raw(path: Path) -> str:
    data = path.read_bytes()
    zeros = lambda d, n: np.zeros((n, *[max(int(x), 1) for x in d["shape"][1:]]), d["dtype"])  # noqa: E731
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        feeds = {}
        for spec in session.get_inputs():
            dims = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
            feeds[spec.name] = np.zeros(dims, _ORT_TYPES.get(spec.type, np.float32))
        session.run(None, feeds)
        return "ran"
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=data, num_threads=1)
    it.allocate_tensors()
    for n in (1, 2):
        for d in it.get_input_details():
            if n > 1:
                it.resize_tensor_input(d["index"], [n, *d["shape"][1:]], strict=False)
        if n > 1:
            it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], zeros(d, n))
        it.invoke()
        for d in it.get_output_details():
            it.get_tensor(d["index"])
    return "ran"


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def _edgekit(path: Path) -> str:
    from edgekit.runtime import load

    model = load(path, num_threads=1)
    rng = np.random.default_rng(0)
    # other batch sizes only where the batch dimension is dynamic: the probe tries exactly that
    for n in (1, 3) if model.input_shape and model.input_shape[0] == -1 else (1,):
        shape = (n, *model.contract.raw_shape)
        raw = rng.integers(0, 256, shape).astype(np.uint8) if model.contract.is_8bit_image else rng.random(shape)
        model.predict(raw)
    return "loaded"


def _child(mode: str, paths: list[str]) -> None:
    from edgekit.errors import EdgekitError

    for i, name in enumerate(paths):
        print(f"start {i}", flush=True)
        try:
            kind, detail = (_edgekit if mode == "edgekit" else _raw)(Path(name)), ""
        except EdgekitError as exc:
            kind, detail = classify(exc.message), exc.message
        except Exception as exc:
            kind = "error" if mode == "raw" else "traceback"
            detail = f"{type(exc).__name__}: {str(exc)[:300]}"
            if kind == "traceback":
                detail += " | " + traceback.format_exc(limit=4).replace("\n", " | ")[-600:]
        print(json.dumps({"i": i, "kind": kind, "detail": detail[:1200]}), flush=True)


# ----------------------------------------------------------------------------------------- the parent
def _run_chunk(mode: str, paths: list[str], timeout: float, env: dict[str, str]) -> tuple[list[Outcome], int]:
    """Run files until the child ends; returns the outcomes and how many files it got through."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz_runner", mode, *paths],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=ROOT,
            env=env,
            text=True,
        )
        assert child.stdout is not None
        outcomes: list[Outcome] = []
        current, deadline = 0, time.monotonic() + timeout + 30  # the first file also pays the imports
        with selectors.DefaultSelector() as sel:
            sel.register(child.stdout, selectors.EVENT_READ)
            while True:
                if not sel.select(max(0.0, deadline - time.monotonic())):
                    child.kill()
                    child.wait()
                    outcomes.append(Outcome(paths[current], "hang", f"no answer in {timeout} s"))
                    return outcomes, current + 1
                line = child.stdout.readline()
                if not line:
                    break
                if line.startswith("start "):
                    current, deadline = int(line.split()[1]), time.monotonic() + timeout
                elif line.startswith("{"):
                    row = json.loads(line)
                    outcomes.append(Outcome(paths[row["i"]], row["kind"], row["detail"]))
        code = child.wait()
        if len(outcomes) == len(paths):
            return outcomes, len(paths)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        what = signal.Signals(-code).name if code < 0 else f"exit {code}"
        outcomes.append(Outcome(paths[current], "signal" if code < 0 else "traceback", f"{what}: {tail[0][:200]}"))
        return outcomes, current + 1


def run_files(mode: str, paths: list[Path], timeout: float = 20.0, env: dict[str, str] | None = None) -> list[Outcome]:
    """Every file's outcome; a child that dies is restarted after the file that killed it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    names, outcomes = [str(p) for p in paths], []
    while names:
        done, through = _run_chunk(mode, names, timeout, environment)
        outcomes += done
        names = names[max(through, 1) :]
    return outcomes


def counts(outcomes: list[Outcome]) -> dict[str, Any]:
    return dict(sorted(Counter(o.kind for o in outcomes).items()))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2:])
