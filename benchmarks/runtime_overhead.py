"""How much edgekit.runtime adds on top of the raw interpreter call, per artifact.

    python benchmarks/runtime_overhead.py edgekit-runs/dense-mnist/artifacts [more dirs or files] [--json OUT]

In one process, for each artifact: the raw call (set_tensor + invoke + get_tensor on an input already in the
model's dtype, or session.run for ONNX) against Model.predict on uint8 images (preprocessing, quantization,
the call, the result object), at batch 1 and batch 256, one thread. Rounds alternate between the two so
drift on a shared machine hits both alike; the median of each is reported, with the ratio.
Targets (issue 4): batch 1 overhead <= 25%, batch throughput within 10%.

Measured on the 2-core shared dev machine (dense 784-128-10, ratio edgekit / raw, median over 5-7 runs;
absolute times there swing +-50% with other load, the in-process ratios much less):

    artifact         b1 before  b1 after  b256 before  b256 after
    tflite-int8         2.00      1.71       1.05        1.05
    tflite-float32      1.59      1.46       1.13        1.11
    tflite-dynamic      2.36      2.02       1.18        1.06
    onnx-float32        1.61      1.66       1.12        1.13

What is left at batch 1 is Python itself: the call, the lock, one ufunc, the result object (~1.5-2 us
against a ~4.7 us int8 invoke); the 1.25x target is not reached on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from edgekit.formats import Format
from edgekit.native_output import quiet_native_output
from edgekit.runtime import load


def _median_ns(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = np.empty(runs, dtype=np.int64)
    for i in range(runs):
        t = time.perf_counter_ns()
        fn()
        samples[i] = time.perf_counter_ns() - t
    return float(np.median(samples))


def raw_call(path: Path, batch: int):  # type: ignore[no-untyped-def]
    """A raw interpreter call for ``batch`` images of the right dtype, built without edgekit."""
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native_output():
            it = Interpreter(model_path=str(path), num_threads=1)
        detail = it.get_input_details()[0]
        it.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
        it.allocate_tensors()
        x = np.zeros([batch, *detail["shape"][1:]], dtype=detail["dtype"])
        out = it.get_output_details()[0]["index"]

        def call() -> np.ndarray:
            it.set_tensor(detail["index"], x)
            it.invoke()
            return it.get_tensor(out)

        return call
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    spec = session.get_inputs()[0]
    dtype = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}[spec.type]
    x = np.zeros([batch, *(d if isinstance(d, int) else 1 for d in spec.shape[1:])], dtype)
    return lambda: session.run(None, {spec.name: x})


def measure(path: Path, rounds: int = 7, runs: int = 300) -> dict[str, object]:
    """Raw vs edgekit medians at batch 1 and 256."""
    model = load(path, num_threads=1)
    rng = np.random.default_rng(0)
    row: dict[str, object] = {"artifact": path.name, "model": path.parent.parent.name, "backend": model.backend}
    for batch, n in ((1, runs), (256, max(10, runs // 20))):
        images = rng.integers(0, 256, size=(batch, 28, 28), dtype=np.uint8)
        image = images[0] if batch == 1 else images
        raw = raw_call(path, batch)
        ours = lambda image=image: model.predict(image)  # noqa: E731
        for fn in (raw, ours):  # warm-up
            for _ in range(50):
                fn()
        raw_t, our_t = [], []
        for _ in range(rounds):
            raw_t.append(_median_ns(raw, n))
            our_t.append(_median_ns(ours, n))
        r, o = float(np.median(raw_t)), float(np.median(our_t))
        row[f"b{batch}_raw_us"] = round(r / 1e3, 2)
        row[f"b{batch}_edgekit_us"] = round(o / 1e3, 2)
        row[f"b{batch}_ratio"] = round(o / r, 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="artifact files or folders of them")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    files = []
    for p in args.paths:
        files += sorted(x for x in p.iterdir() if x.suffix in (".tflite", ".onnx")) if p.is_dir() else [p]
    rows = [measure(f) for f in files if (Format.TFLITE.value in f.suffix or Format.ONNX.value in f.suffix)]
    header = (
        f"{'model':<14}{'artifact':<24}{'b1 raw us':>10}{'b1 edgekit':>11}{'ratio':>7}"
        f"{'b256 raw us':>12}{'b256 edgekit':>13}{'ratio':>7}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['model']:<14}{r['artifact']:<24}{r['b1_raw_us']:>10}{r['b1_edgekit_us']:>11}{r['b1_ratio']:>7}"
            f"{r['b256_raw_us']:>12}{r['b256_edgekit_us']:>13}{r['b256_ratio']:>7}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
