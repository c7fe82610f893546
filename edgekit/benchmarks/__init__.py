"""Latency, accuracy and drift against the Keras reference; JSON/Markdown reports and a CI gate."""

from edgekit.benchmarks.config import BenchConfig
from edgekit.benchmarks.core import BenchResult, bench
from edgekit.benchmarks.gate import Breach, Thresholds, load_thresholds
from edgekit.benchmarks.results import ArtifactResult, BenchReport, ReferenceResult

__all__ = [
    "ArtifactResult",
    "BenchConfig",
    "BenchReport",
    "BenchResult",
    "Breach",
    "ReferenceResult",
    "Thresholds",
    "bench",
    "load_thresholds",
]
