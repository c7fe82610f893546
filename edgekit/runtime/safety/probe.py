"""Open a model once in a child process first, so that an interpreter crash costs a child, not the caller.

A verifier-valid model can still end in SIGSEGV, SIGABRT (heap corruption) or SIGFPE inside the interpreter,
or never return. :func:`probe` runs :mod:`edgekit.runtime.safety.probe_child` (numpy and the interpreter only, no
edgekit, no TensorFlow) with the model bytes on stdin, and turns whatever happened there into one
:class:`~edgekit.errors.ArtifactError` naming the file, the signal and the phase:

    x.tflite crashed the interpreter (SIGSEGV) while allocating tensors
    x.tflite hung the interpreter while running it at batch 1 (no answer in 60 s)
    x.tflite: the interpreter failed while allocating tensors: Node number 3 (RESHAPE) failed to prepare.
    x.onnx is not a valid ONNX model: [ShapeInferenceError] ...

It costs one Python start plus the interpreter's import and a load and two calls on zeros: 63-74 ms for
edgekit's TFLite artifacts, 0.56 s for ONNX ones (most of it importing ``onnx`` for the checker; 85 ms
where only onnxruntime is installed, as on a device) on the dev machine (benchmarks/load_time.py).
:mod:`edgekit.runtime.safety.admission` decides when it is needed. ``EDGEKIT_PROBE_TIMEOUT`` (seconds, default 60)
bounds it, for large models on slow devices.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from edgekit.errors import ArtifactError, UsageError
from edgekit.formats import Format
from edgekit.runtime.onnx.session import load_failed

CHILD = Path(__file__).with_name("probe_child.py")
MARK = "@@edgekit-probe"  # probe_child.MARK; not imported, so the parent need not import numpy twice
DEFAULT_TIMEOUT_S = 60.0
# -c puts the working directory first on sys.path, where a stray numpy.py would shadow the real one
_BOOTSTRAP = (
    "import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
_HINT = "the file is damaged or not a model this interpreter can run; edgekit tried it in a child process"


def probe_timeout() -> float:
    """Seconds one probe may take (EDGEKIT_PROBE_TIMEOUT, default 60)."""
    raw = os.environ.get("EDGEKIT_PROBE_TIMEOUT", "")
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise UsageError(f"EDGEKIT_PROBE_TIMEOUT must be a positive number of seconds, got {raw!r}")
    return value


def probe(fmt: Format, content: bytes, path: Path, module: str, num_threads: int | None) -> None:
    """Load the model with the interpreter ``module`` and run it once on zeros in a child process; raise
    ArtifactError if that crashed, hung or failed, return if it worked. TFLite is loaded from ``content``,
    ONNX from ``path``, as edgekit's sessions load them (an ONNX model's external data lives beside it)."""
    timeout = probe_timeout()
    command = [sys.executable, "-c", _BOOTSTRAP, str(CHILD), fmt.value, module, str(num_threads or 0), str(path)]
    try:
        done = subprocess.run(command, input=content, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        phase = _protocol(exc.stdout or b"")[0]
        raise ArtifactError(
            f"{path} hung the interpreter while {phase} (no answer in {timeout:g} s)",
            "set EDGEKIT_PROBE_TIMEOUT=SECONDS if the model is only slow on this machine",
        ) from None
    except OSError as exc:
        raise ArtifactError(f"cannot start a child process to check {path}: {exc.strerror}") from None
    phase, result = _protocol(done.stdout)
    if done.returncode < 0 or result is None:
        raise ArtifactError(f"{path} {_death(done.returncode, done.stderr)} while {phase}", _HINT)
    kind, text = result
    first = (text.strip().splitlines() or ["?"])[0][:300]
    if kind == "error" and fmt is Format.ONNX and phase == "loading the model":
        raise load_failed(path, RuntimeError(text))  # the words edgekit's own session uses (missing .data, ...)
    if kind == "invalid":
        raise ArtifactError(f"{path} is not a valid {fmt.value.upper()} model: {first}", _HINT)
    if kind == "error":
        raise ArtifactError(f"{path}: the interpreter failed while {phase}: {first}", _HINT)


def _protocol(stdout: bytes) -> tuple[str, tuple[str, str] | None]:
    """The last phase the child announced and its final word ((ok | invalid | error, text)), if any."""
    phase, result = "starting", None
    for line in stdout.decode("utf-8", "replace").splitlines():
        if not line.startswith(MARK + " "):
            continue  # a native library's own print
        kind, _, encoded = line[len(MARK) + 1 :].partition(" ")
        try:
            text = str(json.loads(encoded))
        except ValueError:
            continue  # a line cut short by a crash
        if kind == "phase":
            phase = text
        else:
            result = (kind, text)
    return phase, result


def _death(returncode: int, stderr: bytes) -> str:
    """'crashed the interpreter (SIGABRT: free(): invalid pointer)' from how the child ended."""
    last = [
        line.strip()
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith(("INFO:", "WARNING:"))
    ]
    detail = f": {last[-1][:120]}" if last else ""
    if returncode >= 0:  # no signal, no verdict: the child itself could not run
        return f"could not be tried: its child process ended with status {returncode}{detail}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"crashed the interpreter ({name}{detail})"
