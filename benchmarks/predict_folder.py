"""`edgekit predict ARTIFACT FOLDER` against a minimal script doing the same job, side by side.

    python benchmarks/predict_folder.py ARTIFACT [ARTIFACT ...] [--images 10000] [--rounds 5] [--threads 1]

The folder holds 28x28 grayscale PNGs of real MNIST digits (the offline sample, cycled to the count asked
for), written once to a temporary folder. The minimal script is what a careful user would write: list the
folder, decode each PNG with Pillow, stack batches of 256, scale (and quantize for an integer input), and
call the same interpreter with the same thread count; it prints one label a line. Both run as fresh
processes (start-up included: that is what a user waits for), alternating, and the medians are compared.
The labels of both are checked equal.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MINIMAL = """
import sys, os
import numpy as np
from PIL import Image
artifact, folder, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))
if artifact.endswith(".onnx"):
    import onnxruntime as ort
    options = ort.SessionOptions(); options.intra_op_num_threads = threads
    session = ort.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
    name, run = session.get_inputs()[0].name, None
    run = lambda x: session.run(None, {name: x})[0]
    scale, zero, dtype = 0.0, 0, np.float32
else:
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=artifact, num_threads=threads)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (scale, zero), dtype, shape = inp["quantization"], inp["dtype"], None
    def run(x):
        global shape
        if x.shape != shape:
            it.resize_tensor_input(inp["index"], list(x.shape)); it.allocate_tensors(); shape = x.shape
        it.set_tensor(inp["index"], x); it.invoke(); return it.get_tensor(out["index"])
labels = []
for i in range(0, len(files), 256):
    x = np.stack([np.asarray(Image.open(f).convert("L")) for f in files[i:i + 256]]).astype(np.float32) / 255
    if scale:
        x = np.clip(np.round(x / scale + zero), -128, 127)
    labels.extend(run(x.astype(dtype)).argmax(1).tolist())
sys.stdout.write("\\n".join(map(str, labels)) + "\\n")
"""


def write_folder(folder: Path, count: int) -> None:
    """``count`` 28x28 PNGs of real MNIST digits (the offline sample, cycled)."""
    from PIL import Image

    from edgekit.data import load_dataset

    data = load_dataset("mnist", offline=True)
    images = np.concatenate([data.train.images, data.validation.images, data.test.images])
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(images[i % len(images)]).save(folder / f"{i:05d}.png")


def _timed(command: list[str], output: Path) -> float:
    started = time.perf_counter()
    with open(output, "w") as fh:
        subprocess.run(command, check=True, stdout=fh, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _edgekit_labels(output: Path) -> list[int]:
    rows = [line.split() for line in output.read_text().splitlines()[1:] if line.strip()]
    return [int(r[1]) for r in rows]


def compare(artifact: Path, folder: Path, rounds: int, threads: int, work: Path) -> dict[str, float]:
    script = work / "minimal.py"
    script.write_text(MINIMAL)
    edgekit = [sys.executable, "-m", "edgekit.cli", "predict", str(artifact), str(folder), "--threads", str(threads)]
    minimal = [sys.executable, str(script), str(artifact), str(folder), str(threads)]
    times: dict[str, list[float]] = {"edgekit": [], "minimal": []}
    for _ in range(rounds):
        times["edgekit"].append(_timed(edgekit, work / "edgekit.txt"))
        times["minimal"].append(_timed(minimal, work / "minimal.txt"))
    ours, theirs = _edgekit_labels(work / "edgekit.txt"), [int(v) for v in (work / "minimal.txt").read_text().split()]
    if ours != theirs:
        differ = sum(a != b for a, b in zip(ours, theirs, strict=False)) + abs(len(ours) - len(theirs))
        raise SystemExit(f"{artifact.name}: labels differ on {differ} images")
    edgekit_s, minimal_s = statistics.median(times["edgekit"]), statistics.median(times["minimal"])
    return {"edgekit_s": edgekit_s, "minimal_s": minimal_s, "ratio": edgekit_s / minimal_s, "images": len(ours)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="+", type=Path)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgekit-predict-bench-") as tmp:
        work = Path(tmp)
        write_folder(work / "digits", args.images)
        print(f"{args.images} PNGs, {args.rounds} alternating rounds, {args.threads} thread(s), medians of wall time")
        print(f"{'artifact':<28} {'edgekit':>9} {'minimal':>9} {'ratio':>6}")
        for artifact in args.artifacts:
            r = compare(artifact, work / "digits", args.rounds, args.threads, work)
            print(f"{artifact.name:<28} {r['edgekit_s']:>8.2f}s {r['minimal_s']:>8.2f}s {r['ratio']:>6.2f}")


if __name__ == "__main__":
    main()
