"""Benchmark plots: latency per artifact, accuracy vs size, int8 confusion difference, disagreements."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from edgekit.benchmarks.measure import EvaluationSet
from edgekit.benchmarks.results import ArtifactResult, BenchReport
from edgekit.formats import Format
from edgekit.plotting import pyplot, save_figure


def latency_plot(report: BenchReport, target: Path) -> None:
    """p50 bars with whiskers to p90, smallest batch, log scale (Keras included)."""
    plt = pyplot()
    batch, ref = report.config.smallest_batch, report.reference
    rows = [("keras predict", ref.predict_latency[batch]), ("keras call", ref.call_latency[batch])]
    rows += [(r.name, r.latency[batch]) for r in report.artifacts]
    p50 = np.array([s.p50_ms for _, s in rows])
    p90 = np.array([s.p90_ms for _, s in rows])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.barh(y, p50, xerr=[np.zeros_like(p50), p90 - p50], capsize=3, color="#4c72b0")
    ax.set_yticks(y, [n for n, _ in rows])
    ax.set_xscale("log")
    ax.set_xlabel(f"latency per call, batch {batch} (ms, log scale): bar p50, whisker p90")
    ax.invert_yaxis()
    ax.set_title(f"{report.model}: latency")
    save_figure(fig, target)


def accuracy_size_plot(report: BenchReport, target: Path) -> None:
    """Accuracy against size on disk, one point per artifact, Keras accuracy as a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for r in report.artifacts:
        point = (r.size_bytes / 1024, r.drift.accuracy * 100)
        ax.scatter(*point, marker="o" if r.format is Format.TFLITE else "s")
        ax.annotate(r.name, point, fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.axhline(report.reference.accuracy * 100, color="grey", linestyle="--", label="Keras reference")
    ax.set_xlabel("size on disk (KiB)")
    ax.set_ylabel("accuracy (%)")
    ax.legend()
    ax.set_title(f"{report.model}: accuracy vs size")
    save_figure(fig, target)


def confusion_diff_plot(row: ArtifactResult, evaluation: EvaluationSet, target: Path) -> None:
    """Confusion matrix of an artifact minus the reference's (which answers moved where)."""
    from edgekit.benchmarks.drift import confusion_matrix

    plt = pyplot()
    names = list(evaluation.contract.class_names)
    reference = confusion_matrix(evaluation.labels, evaluation.reference_predicted, len(names))
    diff = np.asarray(row.drift.confusion_matrix) - reference
    limit = max(1, int(np.abs(diff).max()))
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(diff):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(names)), names, rotation=45, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im)
    ax.set_title(f"{row.name} minus Keras: confusion counts")
    save_figure(fig, target)


def disagreements_plot(evaluation: EvaluationSet, answers: Mapping[str, np.ndarray], target: Path,
                       limit: int = 12) -> bool:
    """Test images where an artifact and Keras disagree; False when there are none."""
    reference, names = evaluation.reference_predicted, evaluation.contract.class_names
    shown = [(name, int(i), int(pred[i])) for name, pred in answers.items()
             for i in np.flatnonzero(pred != reference)]
    if not shown:
        return False
    shown = shown[:limit]
    plt = pyplot()
    cols = min(6, len(shown))
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (name, i, pred) in zip(axes.ravel(), shown):
        ax.imshow(evaluation.images[i], cmap="gray")
        ax.set_title(f"#{i} {name}\nkeras {names[reference[i]]}, here {names[pred]}\n"
                     f"true {names[evaluation.labels[i]]}", fontsize=7)
    save_figure(fig, target)
    return True
