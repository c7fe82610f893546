"""Per-op latency profiles: which op types take an artifact's time, at batch 1, apart from the latency runs.

onnxruntime has a profiler: the session is opened as edgekit opens it (same threads and options, so the
graph is optimised the same way and op names are those of the kernels it runs, e.g. FusedConv, QLinearConv),
with ``enable_profiling``, and each node's kernel time is summed per op type over the runs.

LiteRT's Python interpreter has no profiler (its C++ one is not exposed). What is measured instead: every
operator of the graph alone, as a one-op model (the same tensors, dtypes, quantization and weights) run by
the same interpreter with its default delegate, on random input; the median of its invokes is its time. The
sum of the ops' times is not the whole model's invoke: each one-op model pays one invoke's fixed overhead,
and XNNPACK fuses nothing across ops that are timed apart. Shares are of that sum.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.costs import OpProfile, op_profile
from edgekit.benchmarks.latency import TimingPolicy, percentile, time_calls
from edgekit.formats import Format
from edgekit.native_output import quiet_native_output

RUNS = 100  # profiled inferences (onnxruntime); per op, at least this many invokes (TFLite)
WARMUP = 5
ONNX_METHOD = (
    "onnxruntime's profiler (enable_profiling): each node's median kernel time over {runs} runs, summed per op type"
)
TFLITE_METHOD = (
    "LiteRT's Python API has no profiler: each op timed alone as a one-op model with the same interpreter "
    "(median of {runs}+ invokes); shares are of the ops' sum, which includes one invoke overhead per op; ops on "
    "constants alone (float16 weights' DEQUANTIZE) run once at load and are left out"
)
OP_POLICY = TimingPolicy(warmup_runs=WARMUP, min_runs=RUNS, min_seconds=0.0, max_seconds=0.5)
ONNX_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8}
ONNX_TYPES |= {"tensor(int8)": np.int8, "tensor(int16)": np.int16}


def profile_ops(path: Path, fmt: Format, interpreter_module: str, threads: int | None) -> OpProfile | None:
    """The op profile of one artifact (None: its interpreter cannot be profiled here, e.g. TensorFlow's)."""
    try:
        module = importlib.import_module(interpreter_module)
    except ImportError:
        return None
    if fmt is Format.ONNX:
        return _onnx_profile(module, Path(path), threads)
    if not hasattr(module, "Interpreter"):  # tensorflow: tf.lite is one level down, and a device never runs it
        return None
    return _tflite_profile(module.Interpreter, Path(path).read_bytes(), threads)


def random_input(shape: Any, dtype: Any, rng: np.random.Generator) -> np.ndarray:
    """Values across the dtype's range (8/16-bit integers) or [0, 1); other integer tensors are zeros."""
    dims = [int(d) if isinstance(d, (int, np.integer)) and d > 0 else 1 for d in shape]
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(dims).astype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=dims).astype(dtype)
    return np.zeros(dims, dtype)


def _onnx_profile(ort: Any, path: Path, threads: int | None) -> OpProfile:
    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")  # as edgekit's session opens it
    if threads:
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    with tempfile.TemporaryDirectory(prefix="edgekit-profile-") as folder:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(folder) / "ort")
        with quiet_native_output():
            session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        fixed = bool(inp.shape) and isinstance(inp.shape[0], int) and inp.shape[0] > 0
        x = random_input([inp.shape[0] if fixed else 1, *inp.shape[1:]], ONNX_TYPES.get(inp.type, np.float32), _rng())
        for _ in range(WARMUP + RUNS):
            session.run(None, {inp.name: x})
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    return _onnx_times(events)


def _onnx_times(events: list[dict[str, Any]]) -> OpProfile:
    """Each node's median kernel time over the runs after the warm-up, summed per op type.

    The median, not the mean: on a shared machine one descheduled run would otherwise make any op the slowest."""
    runs = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    start = runs[WARMUP] if len(runs) > WARMUP else 0
    per_node: dict[tuple[str, str], list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time") and e["ts"] >= start:
            key = (str(e["args"].get("op_name", "?")), str(e["name"]))
            per_node.setdefault(key, []).append(e["dur"] / 1e3)  # us -> ms
    times: dict[str, list[float]] = {}
    for (op, _), samples in per_node.items():
        times.setdefault(op, []).append(percentile(samples, 50))
    timed = len(runs) - WARMUP if len(runs) > WARMUP else len(runs)
    return op_profile(ONNX_METHOD.format(runs=timed), times, timed, set())


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _tflite_profile(interpreter: Callable[..., Any], content: bytes, threads: int | None) -> OpProfile | None:
    from edgekit.runtime.metadata import tflite_schema

    schema = tflite_schema()
    if schema is None:
        return None
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    made = _made_from_constants(model, graph)
    times: dict[str, list[float]] = {}
    untimed: set[str] = set()
    for op in graph.operators or []:
        code = model.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        if all(made.get(i, True) is not None for i in _inputs(op)):
            continue  # on constants alone: interpreters run it once, when the model loads
        try:
            one = _one_op_model(schema, model, [*_producers(op, made), op])
            ms = _median_invoke_ms(interpreter, one, threads)
        except (ValueError, RuntimeError):  # it needs its neighbours: a shape computed at run time, a variable
            untimed.add(name)
            continue
        times.setdefault(name, []).append(ms)
    return op_profile(TFLITE_METHOD.format(runs=RUNS), times, RUNS, untimed)


def _inputs(op: Any) -> list[int]:
    return [int(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]


def _made_from_constants(model: Any, graph: Any) -> dict[int, Any]:
    """Every tensor of constants alone: stored ones (mapped to True) and those ops compute from them (mapped to
    the op: float16 weights' DEQUANTIZE); tensors that depend on the input map to None."""
    made: dict[int, Any] = {}
    for k, t in enumerate(graph.tensors):
        made[k] = True if _stored(model, t) else None
    for op in graph.operators or []:
        inputs = _inputs(op)
        if inputs and all(made.get(i) is not None for i in inputs):
            made |= dict.fromkeys((int(t) for t in op.outputs), op)
    return made


def _stored(model: Any, tensor: Any) -> bool:
    return bool(tensor.buffer > 0 and model.buffers[tensor.buffer].data is not None)


def _producers(op: Any, made: dict[int, Any]) -> list[Any]:
    """The ops that compute ``op``'s constant inputs (a one-op model keeps them, so its weights stay constant
    and are packed at load, as in the whole model), in graph order."""
    found: list[Any] = []
    for i in _inputs(op):
        producer = made.get(i)
        if producer is not None and producer is not True:
            found += [p for p in [*_producers(producer, made), producer] if not any(p is f for f in found)]
    return found


def _one_op_model(schema: Any, model: Any, ops: list[Any]) -> bytes:
    """A model of the last of ``ops`` (after the ops that compute its constant inputs): its inputs that depend
    on the model's input become the graph's inputs, its outputs the graph's outputs."""
    import flatbuffers

    graph, op = model.subgraphs[0], ops[-1]
    made = {int(t) for p in ops[:-1] for t in p.outputs}
    used = {graph.tensors[i].buffer for p in ops for i in [*_inputs(p), *p.outputs] if i >= 0}
    one, sub, empty = schema.ModelT(), schema.SubGraphT(), schema.BufferT()
    one.version, one.operatorCodes = model.version, model.operatorCodes
    one.buffers = [b if k in used or k == 0 else empty for k, b in enumerate(model.buffers)]  # indices kept
    sub.tensors, sub.operators = graph.tensors, ops
    sub.inputs = [i for i in _inputs(op) if i not in made and not _stored(model, graph.tensors[i])]
    sub.outputs = list(op.outputs)
    one.subgraphs = [sub]
    builder = flatbuffers.Builder(1024)
    builder.Finish(one.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _median_invoke_ms(interpreter: Callable[..., Any], content: bytes, threads: int | None) -> float:
    with quiet_native_output():
        runner = interpreter(model_content=content, num_threads=threads)
        runner.allocate_tensors()
    rng = _rng()
    for detail in runner.get_input_details():
        runner.set_tensor(detail["index"], random_input(detail["shape"], detail["dtype"], rng))
    return percentile(time_calls(runner.invoke, OP_POLICY), 50) / 1e6
