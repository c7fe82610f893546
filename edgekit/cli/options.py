"""Options several commands share, and turning their raw values into library objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.contract import DeclaredContract, OutputKind

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder with the dataset's IDX .gz files or Keras .npz "
        "(also EDGEKIT_DATA_DIR). Without it: Keras' cache, then a download, then the offline sample.",
    ),
]
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Never try to download a dataset (also EDGEKIT_OFFLINE=1).")
]


ScaleOption = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="Preprocessing x * SCALE + OFFSET on raw values (0..255 pixels): a number, a comma list "
        "per channel, or a .npy file.",
        rich_help_panel="Model contract",
    ),
]
OffsetOption = Annotated[str | None, typer.Option("--offset", help="See --scale.", rich_help_panel="Model contract")]
MeanOption = Annotated[
    str | None,
    typer.Option(
        "--mean",
        help="Preprocessing (x - MEAN) / STD on raw values: a number, a comma list per channel, or a .npy "
        "file (per-pixel statistics).",
        rich_help_panel="Model contract",
    ),
]
StdOption = Annotated[str | None, typer.Option("--std", help="See --mean.", rich_help_panel="Model contract")]
OutputsOption = Annotated[
    OutputKind | None,
    typer.Option(
        "--outputs",
        help="What the model returns (inferred from a final softmax when not given).",
        rich_help_panel="Model contract",
    ),
]
ClassNamesOption = Annotated[
    str | None,
    typer.Option(
        "--class-names", help="A file with one class name a line, or a comma list.", rich_help_panel="Model contract"
    ),
]
LayoutOption = Annotated[
    str | None,
    typer.Option(
        "--layout",
        help="Where an image model wants its channel axis: nhwc (Keras, TFLite) or nchw (PyTorch exports). "
        "Read off the input tensor when it is unambiguous.",
        rich_help_panel="Model contract",
    ),
]
ContractOption = Annotated[
    Path | None,
    typer.Option(
        "--contract",
        help="A TOML file with any of the keys scale, offset, mean, std, outputs, class_names, layout (flags win).",
        rich_help_panel="Model contract",
    ),
]
DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Images to calibrate and check with: a folder with one subfolder per class, an .npz (x/y or "
        "x_train/y_train/x_test/y_test), a folder of IDX files, or a dataset name (mnist, fashion-mnist, digits).",
    ),
]


def declared(contract: Path | None, outputs: OutputKind | None, **flags: str | None) -> DeclaredContract:
    """The contract options of a command (``--contract`` file, ``--outputs``, the rest as typed) declared."""
    from edgekit.contract import ContractFlags, declare

    return declare(ContractFlags(outputs=outputs.value if outputs else None, **flags), contract)


def csv(value: str, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise typer.BadParameter(f"{what} must not be empty")
    return items


def batch_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in csv(value, "--batch-sizes"))
    except ValueError:
        raise typer.BadParameter(f"--batch-sizes must be integers separated by commas, got {value!r}") from None
    return sizes


GATE_HELP = "Gate (exit 3 on a breach): "


def thresholds(thresholds_file: Path | None, **flags: float | None) -> Any:
    from edgekit.benchmarks.gate import Thresholds, load_thresholds, merge

    base = load_thresholds(thresholds_file) if thresholds_file else Thresholds()
    return merge(base, **flags)


ThresholdsFile = Annotated[
    Path | None,
    typer.Option(
        "--thresholds", help=GATE_HELP + "a TOML file with any of the threshold keys (top level or [gate]); flags win."
    ),
]
MaxAccuracyDrop = Annotated[
    float | None,
    typer.Option(help=GATE_HELP + "points an artifact may fall below the reference (Keras, or a float32 one)."),
]
MinAgreement = Annotated[float | None, typer.Option(help=GATE_HELP + "top-1 agreement with the reference, 0..1.")]
MaxLatency = Annotated[float | None, typer.Option("--max-latency-ms", help=GATE_HELP + "p90 at the smallest batch.")]
MinTime = Annotated[float, typer.Option(help="Seconds of timed runs per artifact and batch size (at least 100 runs).")]
Threads = Annotated[int, typer.Option(help="Interpreter threads (and TensorFlow's, when it is not yet running).")]
NoVerify = Annotated[
    bool,
    typer.Option(
        "--no-verify",
        help="Run artifacts whose sha256 does not match their sidecar or the seal in their metadata, or whose "
        "metadata is invalid (it is then ignored). Only for files you trust.",
    ),
]
BatchSizes = Annotated[str, typer.Option(help="Comma-separated batch sizes to time.")]


# ----------------------------------------------------------------------------- option groups (see app.takes)
@dataclass(frozen=True, kw_only=True)
class ContractOptions:
    """--scale ... --contract: what a model takes and returns, where the artifact does not say."""

    scale: ScaleOption = None
    offset: OffsetOption = None
    mean: MeanOption = None
    std: StdOption = None
    outputs: OutputsOption = None
    class_names: ClassNamesOption = None
    contract: ContractOption = None

    def declared(self, **more: str | None) -> DeclaredContract:
        flags = {"scale": self.scale, "offset": self.offset, "mean": self.mean, "std": self.std}
        return declared(self.contract, self.outputs, class_names=self.class_names, **flags, **more)


@dataclass(frozen=True, kw_only=True)
class DataPlaceOptions:
    """--data-dir, --offline: where built-in datasets come from."""

    data_dir: DataDirOption = None
    offline: OfflineOption = False


@dataclass(frozen=True, kw_only=True)
class TimingOptions:
    """--threads, --batch-sizes, --min-time: how latency is measured."""

    threads: Threads = 1
    batch_sizes: BatchSizes = "1,32"
    min_time: MinTime = 0.5

    def bench_config(self, **more: Any) -> Any:
        """A BenchConfig with these timings (and ``more`` of its fields)."""
        from edgekit.benchmarks import BenchConfig
        from edgekit.benchmarks.latency import TimingPolicy

        policy = TimingPolicy(min_seconds=self.min_time)
        return BenchConfig(threads=self.threads, batch_sizes=batch_sizes(self.batch_sizes), policy=policy, **more)


@dataclass(frozen=True, kw_only=True)
class GateOptions:
    """--thresholds and the gate's limits against the reference."""

    thresholds_file: ThresholdsFile = None
    max_accuracy_drop: MaxAccuracyDrop = None
    min_agreement: MinAgreement = None
    max_latency_ms: MaxLatency = None

    def limits(self, **more: float | None) -> Any:
        flags = {"max_accuracy_drop": self.max_accuracy_drop, "min_agreement": self.min_agreement}
        return thresholds(self.thresholds_file, max_latency_ms=self.max_latency_ms, **flags, **more)
