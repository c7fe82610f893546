"""Latency, accuracy and drift against the Keras reference; JSON/Markdown reports and a CI gate."""

from edgekit.benchmarks.core import BenchConfig, BenchReport, bench
from edgekit.benchmarks.gate import Thresholds, load_thresholds

__all__ = ["BenchConfig", "BenchReport", "Thresholds", "bench", "load_thresholds"]
