"""The child side of :mod:`edgekit.benchmarks.memory`: numpy and one interpreter, no edgekit module.

    python -c BOOTSTRAP .../memory_child.py FORMAT INTERPRETER_MODULE THREADS RUNS PATH

After importing numpy and the interpreter it resets its resident-memory high-water mark (Linux
``/proc/self/clear_refs``), notes its resident set, then opens the model as edgekit's sessions do (TFLite from
the file's bytes, ONNX from its path with edgekit's session options), allocates, and runs RUNS inferences on
random input at batch 1. It prints one JSON line (KiB): the resident set and its anonymous part before, the
high-water mark and the anonymous resident set after, and whether the mark could be reset (if not, an
import-time peak may hide part of the model's).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

STATUS = Path("/proc/self/status")
ONNX_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8}
ONNX_TYPES |= {"tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32}


def status_kib(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in KiB, or None off Linux."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_high_water_mark() -> bool:
    """Give freed heap back to the system (glibc), so that the model's allocations show in the resident set
    instead of reusing pages the imports touched, then restart the high-water mark from the resident set."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
    except OSError:
        return False
    return True


def sample(shape: Any, dtype: Any) -> np.ndarray:
    """Random input of one image (dynamic dimensions: 1), in the tensor's dtype."""
    dims = [1] + [int(d) if isinstance(d, (int, np.integer)) and d > 0 else 1 for d in list(shape)[1:]]
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 255) + 1, size=dims).astype(dtype)
    return rng.random(dims).astype(dtype)


def run_tflite(module: Any, path: str, threads: int | None, runs: int) -> Any:
    """Load and run; returns what must stay alive while the memory is read (the interpreter and its bytes)."""
    interpreter_class = getattr(module, "Interpreter", None) or module.lite.Interpreter
    content = Path(path).read_bytes()  # edgekit's session keeps the bytes: they are part of its footprint
    interpreter = interpreter_class(model_content=content, num_threads=threads)
    detail = interpreter.get_input_details()[0]
    if len(detail["shape"]) and int(detail["shape"][0]) != 1 and list(detail["shape_signature"][:1]) == [-1]:
        interpreter.resize_tensor_input(detail["index"], [1, *detail["shape"][1:]], strict=False)
    interpreter.allocate_tensors()
    x = sample(interpreter.get_input_details()[0]["shape"], detail["dtype"])
    for _ in range(runs):
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
    return interpreter, content


def run_onnx(ort: Any, path: str, threads: int | None, runs: int) -> Any:
    """Load and run; returns the session, which must stay alive while the memory is read."""
    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")  # as edgekit's session opens it
    if threads:
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    fixed = bool(inp.shape) and isinstance(inp.shape[0], int) and inp.shape[0] > 0
    x = sample(inp.shape, ONNX_TYPES.get(inp.type, np.float32))
    if fixed:
        x = np.repeat(x, inp.shape[0], axis=0)
    for _ in range(runs):
        session.run(None, {inp.name: x})
    return session


def main(argv: list[str]) -> int:
    fmt, module_name, threads, runs, path = argv
    module = importlib.import_module(module_name)
    reset = reset_high_water_mark()
    before, heap_before = status_kib("VmRSS"), status_kib("RssAnon")
    run = run_onnx if fmt == "onnx" else run_tflite
    alive = run(module, path, int(threads) or None, int(runs))
    after = {"hwm_after_kib": status_kib("VmHWM"), "anon_after_kib": status_kib("RssAnon")}
    print(json.dumps({"rss_before_kib": before, "anon_before_kib": heap_before, **after, "reset": reset}))
    del alive
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
