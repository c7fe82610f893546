"""The child side of the probe (see :mod:`edgekit.runtime.probe`): numpy and one interpreter, nothing else.

Run by file path, not as part of the package, so that the child imports no edgekit module:

    python -c BOOTSTRAP .../probe_child.py FORMAT INTERPRETER_MODULE THREADS   < model bytes

It does to the model what ``edgekit.runtime.load`` and a first ``predict`` do (open it with the same options,
allocate, feed zeros to input 0 at batch 1, and at batch 2 when the batch dimension is dynamic, read
output 0), announcing each phase on stdout before it starts, so that a crash names the phase it died in.
For ONNX, ``onnx.checker`` and strict shape inference run first when the ``onnx`` package is importable.
Protocol lines start with ``@@edgekit-probe``; anything else on stdout is a native library's chatter.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

MARK = "@@edgekit-probe"
MAX_INPUT_BYTES = 256 << 20  # zeros for one sample beyond this are not a test worth a machine's memory
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
    sys.stdout.write(f"{MARK} {kind} {' '.join(text.split())}\n")
    sys.stdout.flush()


def zeros(shape: Any, dtype: Any) -> np.ndarray:
    shape = [int(d) if int(d) > 0 else 1 for d in shape]
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
    for batch in (1, 2):
        if batch == 2:
            if len(inp["shape_signature"]) == 0 or inp["shape_signature"][0] != -1:
                return
            say("phase", "resizing it to batch 2")
            interpreter.resize_tensor_input(inp["index"], [2, *inp["shape"][1:]], strict=False)
            interpreter.allocate_tensors()
        say("phase", f"running it at batch {batch}")
        interpreter.set_tensor(inp["index"], zeros([batch, *inp["shape"][1:]], inp["dtype"]))
        interpreter.invoke()
        interpreter.get_tensor(out["index"])


def check_onnx(content: bytes) -> bool:
    """False when the onnx package reports a problem (already announced), True otherwise."""
    try:
        import onnx
    except ImportError:
        return True
    say("phase", "checking the model (onnx.checker)")
    try:
        model = onnx.load_model_from_string(content)
        onnx.checker.check_model(model)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises ValidationError, InferenceError, DecodeError, ...
        say("invalid", _first_line(exc))
        return False
    return True


def run_onnx(content: bytes, module_name: str, threads: int | None) -> None:
    ort = importlib.import_module(module_name)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")  # as edgekit's session opens it
    if threads:
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    say("phase", "loading the model")
    session = ort.InferenceSession(content, sess_options=options, providers=["CPUExecutionProvider"])
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    if inp.type not in ONNX_TYPES:
        return  # edgekit refuses such an input itself, with its own message
    dynamic = not inp.shape or not isinstance(inp.shape[0], int) or inp.shape[0] < 1
    for batch in (1, 2) if dynamic else (1,):
        say("phase", f"running it at batch {batch}")
        session.run([out.name], {inp.name: zeros([batch, *inp.shape[1:]], ONNX_TYPES[inp.type])})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def main(argv: list[str]) -> int:
    fmt, module_name, threads = argv
    content = sys.stdin.buffer.read()
    try:
        if fmt == "onnx":
            if not check_onnx(content):
                return 0
            run_onnx(content, module_name, int(threads) or None)
        else:
            run_tflite(content, module_name, int(threads) or None)
    except Exception as exc:  # the interpreter's own refusal: reported to the parent as one line
        say("error", _first_line(exc))
        return 0
    say("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
