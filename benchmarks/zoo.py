"""The model zoo: the small architectures people ship, trained briefly on real offline digits, converted to all
seven artifacts with --allow-float-fallback, and benchmarked; one table.

    python benchmarks/zoo.py [--models mobilenet_v2,resnet_style] [--inputs rgb32,gray96] [--out DIR] [--quick]

Models: MobileNetV2 (alpha 0.35, logits), MobileNetV3Small (hard-swish, SE, Rescaling inside), an
EfficientNet-style MBConv model (swish, SE, Add), a ResNet-style model (BN, depthwise, Add, swish, softmax),
and edgekit's own dense and cnn. Inputs: rgb32 (the offline MNIST sample padded to 32x32 and colourised,
4,000 train / 1,000 test) and gray96 (scikit-learn's 1,797 digits resized to 96x96, 1,397 / 400). The table:
params, MACs (from the float32 TFLite graph), each artifact's size, top-1 agreement with Keras and accuracy
delta on all the held-out images (convert's parity check; of 500, one image is 0.2 points), p50 latency at
batch 1 as a ratio to the same format's float32 (edgekit bench, one thread), and the verdict: which int8
step held its band.
Writes DIR/zoo.json and DIR/zoo.md; exit 1 when an artifact misses its band or does not load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MODELS = ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_style", "resnet_style", "dense", "cnn")
INPUTS = ("rgb32", "gray96")
# 96x96: 9x the pixels of 32x32 on a third of the images; the big models get fewer epochs to stay in minutes
EPOCHS_GRAY96 = {
    "mobilenet_v2": 10, "mobilenet_v3_small": 8, "efficientnet_style": 8, "resnet_style": 10, "dense": 15, "cnn": 8,
}  # fmt: skip
# MobileNetV2 at 32x32 learns slowly at Adam's default (75% after 12 epochs at 1e-3, 90% after 8 at 3e-3)
LEARNING_RATE = {"mobilenet_v2": 3e-3, "mobilenet_v3_small": 3e-3}
EPOCHS = {
    "mobilenet_v2": 16,
    "mobilenet_v3_small": 12,
    "efficientnet_style": 8,
    "resnet_style": 10,
    "dense": 10,
    "cnn": 8,
}


@dataclass
class Case:
    """One (model, input): what was built and what each artifact did."""

    model: str
    inputs: str
    test_images: int = 0  # held-out images: all of them are the parity set
    params: int = 0
    macs: int | None = None
    keras_accuracy: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)


def _data(inputs: str, quick: bool) -> tuple[np.ndarray, np.ndarray, int]:
    from edgekit.models import zoo_training as zt

    if inputs == "rgb32":
        images, labels = zt.mnist_sample()
        images, test = zt.rgb32(images), 1000
    else:
        digits, labels = zt.sklearn_digits()
        images, test = zt.gray96(digits), 400
    if quick:
        images, labels, test = images[:1200], labels[:1200], 300
    return images, labels, test


def _build(name: str, shape: tuple[int, ...]) -> Any:
    from edgekit.models.zoo import ZOO

    if name in ZOO:
        return ZOO[name](shape, 10)
    from edgekit.models import get_model_spec  # edgekit's own dense / cnn

    return get_model_spec(name).build(0, shape, 10)


def _train(case: Case, out: Path, epochs: int, quick: bool) -> tuple[Path, Path]:
    from edgekit.models import zoo_training as zt

    images, labels, test = _data(case.inputs, quick)
    case.test_images = test
    shape = images.shape[1:] if images.ndim == 4 else (*images.shape[1:], 1)
    model = _build(case.model, shape)
    started = time.perf_counter()
    zt.fit(model, images[:-test].reshape(-1, *shape), labels[:-test], epochs, LEARNING_RATE.get(case.model, 1e-3))
    case.seconds["train"] = round(time.perf_counter() - started, 1)
    case.params = int(model.count_params())
    x_test = images[-test:].reshape(-1, *shape).astype(np.float32)
    rescales = any(type(layer).__name__ == "Rescaling" for layer in model.layers)
    scores = model.predict(x_test if rescales else x_test / 255.0, verbose=0)
    case.keras_accuracy = float(np.mean(scores.argmax(1) == labels[-test:]))
    out.mkdir(parents=True, exist_ok=True)
    model_path, data_path = out / f"{case.model}.keras", out / "data.npz"
    model.save(model_path)
    zt.save_npz(data_path, images, labels, test)
    return model_path, data_path


def _convert(case: Case, model_path: Path, data_path: Path, out: Path) -> list[Any]:
    from edgekit.convert import ConvertOptions, DataSources
    from edgekit.formats import expand
    from edgekit.workflows import convert_all

    options = ConvertOptions(
        out_dir=out / "artifacts", overwrite=True, allow_float_fallback=True, parity_samples=case.test_images
    )
    started = time.perf_counter()
    results = convert_all(model_path, expand(["all"], ["all"]), options, sources=DataSources(data=str(data_path)))
    case.seconds["convert"] = round(time.perf_counter() - started, 1)
    return results


def _latencies(case: Case, model_path: Path, data_path: Path, results: list[Any], out: Path) -> dict[str, Any]:
    from edgekit.benchmarks import BenchConfig, bench
    from edgekit.convert import DataSources

    config = BenchConfig(  # latency and MACs only: the per-op profile of a 150-op model takes minutes
        artifacts=tuple(str(r.artifact) for r in results),
        batch_sizes=(1,),
        plots=False,
        out_dir=out / "bench",
        profile=False,
    )
    started = time.perf_counter()
    report = bench(model_path, config, sources=DataSources(data=str(data_path))).report
    case.seconds["bench"] = round(time.perf_counter() - started, 1)
    return {row.name: row for row in report.artifacts}


def _record(case: Case, results: list[Any], rows: dict[str, Any]) -> None:
    float32 = {r.format: rows[r.name].latency[1].p50_ms for r in results if r.mode.value == "none"}
    for r in results:
        row, parity = rows[r.name], r.parity or {}
        if r.mode.value == "none" and r.format.value == "tflite" and row.macs:
            case.macs = row.macs.total
        case.artifacts.append(
            {
                "artifact": r.name,
                "size_kib": round(r.size_bytes / 1024, 1),
                "agreement": parity.get("agreement"),
                "accuracy_delta_points": -parity.get("accuracy_drop_points", 0.0),
                "p50_ms": row.latency[1].p50_ms,
                "p50_vs_float32": round(row.latency[1].p50_ms / float32[r.format], 2),
                "ok": not r.parity_failures,
                "failures": list(r.parity_failures),
                "kept": next((t.step for t in r.fallback if t.kept), None),
            }
        )
        if r.verdict:
            case.verdicts.append(f"{r.name}: {r.verdict}")


def _verdict(case: Case) -> str:
    int8 = [a for a in case.artifacts if "int8" in a["artifact"] or "int16x8" in a["artifact"]]
    if not all(a["ok"] for a in case.artifacts):
        return "FAIL " + "; ".join(
            f"{a['artifact']}: {', '.join(a['failures'])}" for a in case.artifacts if not a["ok"]
        )
    return ", ".join(f"{a['artifact']}" + (f" ({a['kept']})" if a["kept"] else "") for a in int8) + " hold"


def run_case(model: str, inputs: str, out: Path, epochs: int | None, quick: bool) -> Case:
    """Train, convert and bench one (model, input)."""
    case = Case(model, inputs)
    folder = out / f"{model}-{inputs}"
    default = EPOCHS[model] if inputs == "rgb32" else EPOCHS_GRAY96[model]
    model_path, data_path = _train(case, folder, epochs or (2 if quick else default), quick)
    results = _convert(case, model_path, data_path, folder)
    _record(case, results, _latencies(case, model_path, data_path, results, folder))
    return case


def table(cases: list[Case]) -> str:
    """The zoo table as Markdown: one row per artifact, the model's facts on its first row."""
    lines = [
        "| model | input | params | MACs | keras acc | artifact | size KiB | agree | acc delta | p50 vs f32 "
        "| verdict |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for case in cases:
        for i, a in enumerate(case.artifacts):
            facts = (
                [case.model, case.inputs, f"{case.params:,}", f"{case.macs / 1e6:.1f}M" if case.macs else "-",
                 f"{case.keras_accuracy:.1%}"]
                if i == 0
                else [""] * 5
            )  # fmt: skip
            agreement = f"{a['agreement']:.1%}" if a["agreement"] is not None else "-"
            verdict = _verdict(case) if i == 0 else ("kept: " + a["kept"] if a["kept"] else "")
            lines.append(
                "| " + " | ".join([*facts, a["artifact"], f"{a['size_kib']:,.0f}", agreement,
                                   f"{a['accuracy_delta_points']:+.1f}", f"{a['p50_vs_float32']:.2f}x", verdict]) + " |"
            )  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--inputs", default=",".join(INPUTS), help="comma-separated: rgb32, gray96")
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    parser.add_argument("--out", type=Path, default=Path("edgekit-runs/zoo"))
    parser.add_argument("--quick", action="store_true", help="1,200 images, 2 epochs: a smoke run, not the figures")
    args = parser.parse_args(argv)
    models, inputs = args.models.split(","), args.inputs.split(",")
    unknown = [m for m in models if m not in MODELS] + [i for i in inputs if i not in INPUTS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    from edgekit.tensorflow_import import import_tensorflow

    import_tensorflow()  # once, quietly (its start-up lines otherwise fill stderr)
    cases = []
    for model in models:
        for kind in inputs:
            print(f"zoo: {model} on {kind}...", file=sys.stderr, flush=True)
            cases.append(run_case(model, kind, args.out, args.epochs, args.quick))
            print(f"zoo: {model} on {kind}: {_verdict(cases[-1])} {cases[-1].seconds}", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "zoo.json").write_text(json.dumps([vars(c) for c in cases], indent=2))
    (args.out / "zoo.md").write_text(table(cases) + "\n")
    print(table(cases))
    for case in cases:
        for verdict in case.verdicts:
            print(f"{case.model}/{case.inputs}: {verdict}")
    return 0 if all(a["ok"] for c in cases for a in c.artifacts) else 1


if __name__ == "__main__":
    sys.exit(main())
