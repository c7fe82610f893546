"""The two kinds of row in a bench report: an artifact, and the reference its drift is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgekit.benchmarks.costs import OpProfile, PeakMemory
from edgekit.benchmarks.drift import Drift
from edgekit.benchmarks.gate_result import Breach
from edgekit.benchmarks.latency import LatencyStats, latencies_from_dict, latencies_to_dict
from edgekit.benchmarks.macs import MacCount
from edgekit.formats import Format, Quantization


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ArtifactResult:
    """One artifact: what it is, what loading and running it cost, and how far it drifted from Keras."""

    name: str  # e.g. tflite-int8
    format: Format
    mode: Quantization
    file: str
    size_bytes: int
    backend: str
    backend_version: str | None
    threads: int | None
    load_ms: float
    eval_seconds: float
    latency: dict[int, LatencyStats]  # by batch size
    drift: Drift
    size_ratio_vs_float32: float | None = None  # against the same format's float32 artifact
    rss_after_load_mb: float | None = None
    rss_delta_load_mb: float | None = None
    raw_invoke_best_ms: float | None = None  # a bare interpreter's best invoke(): the floor at batch 1
    p50_vs_raw_invoke_best: float | None = None
    breaches: tuple[Breach, ...] = ()
    stale: str | None = None  # why the artifact no longer describes the reference (converted from another model)
    macs: MacCount | None = None  # multiply-accumulates of one image, from the artifact's graph
    memory: PeakMemory | None = None  # its interpreter's peak memory in a process of its own (--profile)
    op_profile: OpProfile | None = None  # which op types take its time at batch 1 (--profile)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format.value,
            "mode": self.mode.value,
            "file": self.file,
            "size_bytes": self.size_bytes,
            "size_ratio_vs_float32": self.size_ratio_vs_float32,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "threads": self.threads,
            "load_ms": self.load_ms,
            "rss_after_load_mb": self.rss_after_load_mb,
            "rss_delta_load_mb": self.rss_delta_load_mb,
            "eval_seconds": self.eval_seconds,
            "latency": latencies_to_dict(self.latency),
            "raw_invoke_best_ms": self.raw_invoke_best_ms,
            "p50_vs_raw_invoke_best": self.p50_vs_raw_invoke_best,
            "drift": self.drift.to_dict(),
            "breaches": [b.to_dict() for b in self.breaches],
            **({"stale": self.stale} if self.stale else {}),
            # absent when not measured (--no-profile, no onnx package), as in reports written before them
            **({"macs": self.macs.to_dict()} if self.macs else {}),
            **({"peak_memory": self.memory.to_dict()} if self.memory else {}),
            **({"op_profile": self.op_profile.to_dict()} if self.op_profile else {}),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ArtifactResult:
        threads = data["threads"]
        return ArtifactResult(
            name=str(data["name"]),
            format=Format(data["format"]),
            mode=Quantization(data["mode"]),
            file=str(data["file"]),
            size_bytes=int(data["size_bytes"]),
            backend=str(data["backend"]),
            backend_version=data["backend_version"],
            threads=None if threads is None else int(threads),
            load_ms=float(data["load_ms"]),
            eval_seconds=float(data["eval_seconds"]),
            latency=latencies_from_dict(data["latency"]),
            drift=Drift.from_dict(data["drift"]),
            size_ratio_vs_float32=_optional_float(data["size_ratio_vs_float32"]),
            rss_after_load_mb=_optional_float(data["rss_after_load_mb"]),
            rss_delta_load_mb=_optional_float(data.get("rss_delta_load_mb")),
            raw_invoke_best_ms=_optional_float(data["raw_invoke_best_ms"]),
            p50_vs_raw_invoke_best=_optional_float(data["p50_vs_raw_invoke_best"]),
            breaches=tuple(Breach.from_dict(b) for b in data["breaches"]),
            stale=data.get("stale"),
            macs=MacCount.from_dict(data["macs"]) if data.get("macs") else None,
            memory=PeakMemory.from_dict(data["peak_memory"]) if data.get("peak_memory") else None,
            op_profile=OpProfile.from_dict(data["op_profile"]) if data.get("op_profile") else None,
        )


@dataclass(frozen=True)
class ReferenceResult:
    """What drift is measured against: the Keras model (its accuracy, its latency through model.predict and
    a direct call), or, when only artifacts were benched (``kind`` "artifact"), one of them (``name``; its
    latency through Model.predict and one interpreter call)."""

    device: str  # "CPU" or "GPU (name)"
    file: str
    size_bytes: int
    load_ms: float
    eval_seconds: float
    accuracy: float
    per_class_accuracy: tuple[float | None, ...]
    predict_latency: dict[int, LatencyStats]  # by batch size
    call_latency: dict[int, LatencyStats]
    predict_p50_vs_tflite_int8: float | None = None  # how many times longer model.predict takes
    name: str = "keras"
    kind: str = "keras"  # or "artifact"

    @property
    def is_keras(self) -> bool:
        return self.kind == "keras"

    @property
    def label(self) -> str:
        """How reports name the reference: Keras, or the artifact."""
        return "Keras" if self.is_keras else self.name

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            **({} if self.is_keras else {"kind": self.kind}),  # absent: keras, as in reports before the field
            "device": self.device,
            "file": self.file,
            "size_bytes": self.size_bytes,
            "load_ms": self.load_ms,
            "eval_seconds": self.eval_seconds,
            "accuracy": self.accuracy,
            "per_class_accuracy": list(self.per_class_accuracy),
            "latency": {
                "predict": latencies_to_dict(self.predict_latency),
                "call": latencies_to_dict(self.call_latency),
            },
        }
        if self.predict_p50_vs_tflite_int8 is not None:
            data["predict_p50_vs_tflite_int8"] = self.predict_p50_vs_tflite_int8
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ReferenceResult:
        return ReferenceResult(
            device=str(data["device"]),
            file=str(data["file"]),
            size_bytes=int(data["size_bytes"]),
            load_ms=float(data["load_ms"]),
            eval_seconds=float(data["eval_seconds"]),
            accuracy=float(data["accuracy"]),
            per_class_accuracy=tuple(_optional_float(a) for a in data["per_class_accuracy"]),
            predict_latency=latencies_from_dict(data["latency"]["predict"]),
            call_latency=latencies_from_dict(data["latency"]["call"]),
            predict_p50_vs_tflite_int8=_optional_float(data.get("predict_p50_vs_tflite_int8")),
            name=str(data["name"]),
            kind=str(data.get("kind", "keras")),
        )
