"""The child side of the probe (see :mod:`edgekit.runtime.safety.probe`): numpy and one interpreter, nothing else.

Run by file path, not as part of the package, so that the child imports no edgekit module:

    python -c BOOTSTRAP .../probe_child.py FORMAT INTERPRETER_MODULE THREADS PATH   < model bytes

It does to the model what ``edgekit.runtime.load`` and a first ``predict`` do (open it with the same options,
allocate, feed zeros to input 0 in its own shape, and at batch 2 when the batch dimension is dynamic, read
output 0), announcing each phase on stdout before it starts, so that a crash names the phase it died in.
TFLite is opened from the bytes on stdin, ONNX from PATH (as edgekit's session opens it, so that external
data beside it resolves); ``onnx.checker`` and strict shape inference run after the ONNX load when ``onnx``
is importable (in the child the order is no matter of safety; onnxruntime's refusals keep their wording).
Protocol lines start with ``@@edgekit-probe``; anything else on stdout is a native library's chatter.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import numpy as np

MARK = "@@edgekit-probe"
MAX_INPUT_BYTES = 256 << 20  # zeros for one sample beyond this are not a test worth a machine's memory
# the same table as runtime.tensors.ONNX_DTYPES, copied: the child imports no edgekit module (a test keeps
# the two equal)
ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


def say(kind: str, text: str = "") -> None:
    sys.stdout.write(f"{MARK} {kind} {json.dumps(text)}\n")  # one line, whatever the text holds
    sys.stdout.flush()


def zeros(shape: Any, dtype: Any) -> np.ndarray:
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in shape]  # other dynamic dimensions: 1
    if int(np.prod(shape)) * np.dtype(dtype).itemsize > MAX_INPUT_BYTES:
        raise ValueError(f"input shape {shape} is too large to test")
    return np.zeros(shape, dtype)


def run_tflite(content: bytes, module_name: str, threads: int | None) -> None:
    module = importlib.import_module(module_name)
    interpreter_class = getattr(module, "Interpreter", None) or module.lite.Interpreter  # tensorflow: tf.lite
    say("phase", "loading the model")
    interpreter = interpreter_class(model_content=content, num_threads=threads)
    say("phase", "allocating tensors")
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape = [int(d) for d in inp["shape"]]  # a dynamic batch is declared as 1
    dynamic = len(inp["shape_signature"]) > 0 and inp["shape_signature"][0] == -1
    for batch in (shape[0] if shape else 1, 2) if dynamic else (shape[0] if shape else 1,):
        if batch == 2:
            say("phase", "resizing it to batch 2")
            interpreter.resize_tensor_input(inp["index"], [2, *shape[1:]], strict=False)
            interpreter.allocate_tensors()
        say("phase", f"running it at batch {batch}")
        interpreter.set_tensor(inp["index"], zeros([batch, *shape[1:]] if shape else [], inp["dtype"]))
        interpreter.invoke()
        interpreter.get_tensor(out["index"])


def check_onnx(path: str) -> bool:
    """False when the onnx package reports a problem (already announced), True otherwise."""
    try:
        import onnx
    except ImportError:
        return True
    say("phase", "checking the model (onnx.checker)")
    try:
        onnx.checker.check_model(path)  # by path: external data must exist and stay beside the model
        model = onnx.load(path)  # with external data: inference reads constant shapes (a Reshape's target)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises ValidationError, InferenceError, DecodeError, ...
        say("invalid", _message(exc))
        return False
    return True


def run_onnx(path: str, module_name: str, threads: int | None) -> bool:
    """Load and run; False when the onnx checker then reports a problem (already announced)."""
    ort = importlib.import_module(module_name)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")  # as edgekit's session opens it
    if threads:
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    say("phase", "loading the model")
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    if not check_onnx(path):  # after the load, so that onnxruntime's own refusal keeps its wording
        return False
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    if inp.type not in ONNX_TYPES:
        return True  # edgekit refuses such an input itself, with its own message
    fixed = bool(inp.shape) and isinstance(inp.shape[0], int) and inp.shape[0] > 0
    for batch in (inp.shape[0],) if fixed else (1, 2):
        say("phase", f"running it at batch {batch}")
        session.run([out.name], {inp.name: zeros([batch, *inp.shape[1:]], ONNX_TYPES[inp.type])})
    return True


def _message(exc: BaseException) -> str:
    """What the exception says (its lines joined: the parent picks what it shows)."""
    return str(exc).strip()[:2000] or type(exc).__name__


def main(argv: list[str]) -> int:
    fmt, module_name, threads, path = argv
    content = sys.stdin.buffer.read()
    try:
        if fmt == "onnx":
            if not run_onnx(path, module_name, int(threads) or None):
                return 0
        else:
            run_tflite(content, module_name, int(threads) or None)
    except Exception as exc:  # the interpreter's own refusal: reported to the parent as one line
        say("error", _message(exc))
        return 0
    say("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
