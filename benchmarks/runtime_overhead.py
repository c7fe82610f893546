"""How much edgekit.runtime adds on top of the raw interpreter call, per artifact.

    python benchmarks/runtime_overhead.py edgekit-runs/dense-mnist/artifacts [more dirs or files] [--json OUT]

In one process and one thread, for each artifact, at batch 1 and batch 256: the raw call (set_tensor +
invoke + get_tensor on the same images already mapped to the model's dtype, or session.run for ONNX, built
without edgekit) against edgekit on uint8 images: the prepared call ``model.runner(batch)`` (pixel mapping,
quantization, the call, the result object) and ``model.predict``. Rounds alternate between all of them so
drift on a shared machine hits each alike; the median of each is reported, with its ratio to the raw call.
The noise column is the same raw call timed against a second raw interpreter (A/A): a ratio within about
that of 1.0 is not a difference. Targets (issue 20): the runner <= 1.25x at batch 1, <= 1.05x at batch 256.

The script column is what a minimal script pays on the same uint8 images: its own numpy mapping
(astype float32, scale, and round/clip/cast for an int8 input) and then the raw call. The raw call is handed
input already mapped, so it never pays for writing the input tensor's values; at batch 256 of a float
model that write alone (200,704 floats) is ~5% of the dense model's call.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.native_output import quiet_native_output
from edgekit.runtime import load
from edgekit.runtime.quantization import to_tensor_dtype

Call = Callable[[], object]


def _median_ns(fn: Call, runs: int) -> float:
    samples = np.empty(runs, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(runs):
        t = clock()
        fn()
        samples[i] = clock() - t
    return float(np.median(samples))


def _bare_interpreter(path: Path, shape: tuple[int, ...]) -> tuple[Any, int, int]:
    """(interpreter, input index, output index): LiteRT at ``shape``, one thread, built without edgekit."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet_native_output():
        it = Interpreter(model_path=str(path), num_threads=1)
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, list(shape))
    it.allocate_tensors()
    return it, index, it.get_output_details()[0]["index"]


def _bare_session(path: Path) -> Any:
    """An onnxruntime session on the CPU provider, one thread, built without edgekit."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def raw_call(path: Path, x: np.ndarray) -> Call:
    """A raw interpreter call on ``x``, already in the model's dtype and shape, built without edgekit."""
    if path.suffix == ".tflite":
        it, index, out = _bare_interpreter(path, x.shape)
        set_tensor, invoke, get_tensor = it.set_tensor, it.invoke, it.get_tensor

        def call() -> np.ndarray:
            set_tensor(index, x)
            invoke()
            return get_tensor(out)

        return call
    session = _bare_session(path)
    run, feed = session.run, {session.get_inputs()[0].name: x}
    return lambda: run(None, feed)[0]


def raw_feed(path: Path, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """The raw call on whatever input it is handed (for the minimal script); raw_call's closure is kept
    separate so that the baseline pays no extra call layer."""
    if path.suffix == ".tflite":
        it, index, out = _bare_interpreter(path, shape)
        set_tensor, invoke, get_tensor = it.set_tensor, it.invoke, it.get_tensor

        def call(x: np.ndarray) -> np.ndarray:
            set_tensor(index, x)
            invoke()
            return get_tensor(out)

        return call
    session = _bare_session(path)
    run, name = session.run, session.get_inputs()[0].name
    return lambda x: run(None, {name: x})[0]


def script_call(path: Path, images: np.ndarray, shape: tuple[int, ...], scale: float, quant: tuple[float, int]) -> Call:
    """A minimal script: map the uint8 images itself, then the raw call."""
    feed, dtype = raw_feed(path, shape), np.float32(scale)
    if quant[0]:
        q_scale, zero = np.float32(quant[0]), quant[1]
        return lambda: feed(
            np.clip(np.round(images.reshape(shape).astype(np.float32) * dtype / q_scale) + zero, -128, 127).astype(
                np.int8
            )
        )
    return lambda: feed(images.reshape(shape).astype(np.float32) * dtype)


def _alternate(calls: dict[str, Call], rounds: int, runs: int) -> dict[str, float]:
    """Median over rounds of each call's median over runs, the calls taking turns every round."""
    for fn in calls.values():  # warm-up
        for _ in range(max(20, runs // 5)):
            fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            times[name].append(_median_ns(fn, runs))
    return {name: float(np.median(t)) for name, t in times.items()}


def measure(path: Path, rounds: int, runs: int) -> dict[str, object]:
    """Raw, raw again (noise), runner and predict medians at batch 1 and 256."""
    model = load(path, num_threads=1)
    rng = np.random.default_rng(0)
    row: dict[str, object] = {"artifact": path.name, "model": path.parent.parent.name, "backend": model.backend}
    pre = model.contract.preprocessing
    scripted = pre.kind == "scale" and pre.offset == 0.0 and model.input_dtype in (np.float32, np.int8)
    for batch, n in ((1, runs), (256, max(10, runs // 8))):
        images = rng.integers(0, 256, size=(batch, *model.contract.raw_shape), dtype=np.uint8)
        image = images[0] if batch == 1 else images
        run = model.runner(batch)
        # the raw side gets the same images, mapped beforehand (real values: zeros would read the zero page)
        x = to_tensor_dtype(model.contract.model_input(images), model.input_dtype, model.input_quant)
        x = x.reshape((batch, *(d if d > 0 else 1 for d in model.input_shape[1:])))
        calls: dict[str, Call] = {
            "raw": raw_call(path, x),
            "raw_again": raw_call(path, x.copy()),
            "runner": functools.partial(run, image),
            "predict": functools.partial(model.predict, image),
        }
        if scripted:
            calls["script"] = script_call(path, images, x.shape, pre.scale, model.input_quant)
            np.testing.assert_array_equal(calls["script"](), calls["raw"]())  # the script maps as edgekit does
        median = _alternate(calls, rounds, n)
        raw = median["raw"]
        row[f"b{batch}_raw_us"] = round(raw / 1e3, 2)
        row[f"b{batch}_noise"] = round(median["raw_again"] / raw, 3)
        for name in ("runner", "predict"):
            row[f"b{batch}_{name}_us"] = round(median[name] / 1e3, 2)
            row[f"b{batch}_{name}_ratio"] = round(median[name] / raw, 3)
        script = median.get("script")
        row[f"b{batch}_runner_vs_script"] = round(median["runner"] / script, 3) if script else "-"
    return row


COLUMNS = (
    ("model", 14),
    ("artifact", 22),
    ("b1_raw_us", 10),
    ("b1_runner_ratio", 16),
    ("b1_predict_ratio", 17),
    ("b1_noise", 9),
    ("b1_runner_vs_script", 20),
    ("b256_raw_us", 12),
    ("b256_runner_ratio", 18),
    ("b256_predict_ratio", 19),
    ("b256_noise", 11),
    ("b256_runner_vs_script", 22),
)


def _line(row: dict[str, object]) -> str:
    return "".join(f"{row[n]!s:>{w}}" if i > 1 else f"{row[n]!s:<{w}}" for i, (n, w) in enumerate(COLUMNS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="artifact files or folders of them")
    parser.add_argument("--only", nargs="*", default=[], help="artifact names to keep, e.g. tflite-int8")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--runs", type=int, default=400, help="calls per round at batch 1 (batch 256: 1/20)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    files: list[Path] = []
    for p in args.paths:
        files += sorted(x for x in p.iterdir() if x.suffix in (".tflite", ".onnx")) if p.is_dir() else [p]
    files = [f for f in files if not args.only or f.stem in args.only]
    print("".join(f"{name:>{width}}" if i > 1 else f"{name:<{width}}" for i, (name, width) in enumerate(COLUMNS)))
    rows = []
    for f in files:
        rows.append(measure(f, args.rounds, args.runs))
        print(
            "".join(f"{rows[-1][n]!s:>{w}}" if i > 1 else f"{rows[-1][n]!s:<{w}}" for i, (n, w) in enumerate(COLUMNS))
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
