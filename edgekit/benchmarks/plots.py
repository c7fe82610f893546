"""Benchmark plots: latency per artifact, accuracy vs size, int8 confusion difference, disagreements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.plotting import pyplot, save_figure


def latency_plot(report: dict[str, Any], target: Path) -> None:
    """p50 bars with whiskers to p90, smallest batch, log scale (Keras included)."""
    plt = pyplot()
    batch = str(report["config"]["batch_sizes"][0])
    ref = report["reference"]["latency"]
    rows = [("keras predict", ref["predict"][batch]), ("keras call", ref["call"][batch])]
    rows += [(r["name"], r["latency"][batch]) for r in report["artifacts"]]
    p50 = np.array([s["p50_ms"] for _, s in rows])
    p90 = np.array([s["p90_ms"] for _, s in rows])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.barh(y, p50, xerr=[np.zeros_like(p50), p90 - p50], capsize=3, color="#4c72b0")
    ax.set_yticks(y, [n for n, _ in rows])
    ax.set_xscale("log")
    ax.set_xlabel(f"latency per call, batch {batch} (ms, log scale): bar p50, whisker p90")
    ax.invert_yaxis()
    ax.set_title(f"{report['model']}: latency")
    save_figure(fig, target)


def accuracy_size_plot(report: dict[str, Any], target: Path) -> None:
    """Accuracy against size on disk, one point per artifact, Keras accuracy as a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for r in report["artifacts"]:
        ax.scatter(r["size_bytes"] / 1024, r["drift"]["accuracy"] * 100, marker="o" if r["format"] == "tflite" else "s")
        ax.annotate(r["name"], (r["size_bytes"] / 1024, r["drift"]["accuracy"] * 100), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.axhline(report["reference"]["accuracy"] * 100, color="grey", linestyle="--", label="Keras reference")
    ax.set_xlabel("size on disk (KiB)")
    ax.set_ylabel("accuracy (%)")
    ax.legend()
    ax.set_title(f"{report['model']}: accuracy vs size")
    save_figure(fig, target)


def confusion_diff_plot(report: dict[str, Any], reference_confusion: np.ndarray, artifact: str, target: Path) -> None:
    """Confusion matrix of an artifact minus the reference's (which answers moved where)."""
    plt = pyplot()
    row = next(r for r in report["artifacts"] if r["name"] == artifact)
    diff = np.asarray(row["drift"]["confusion_matrix"]) - reference_confusion
    limit = max(1, int(np.abs(diff).max()))
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(diff):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(report["class_names"])), report["class_names"], rotation=45, fontsize=7)
    ax.set_yticks(range(len(report["class_names"])), report["class_names"], fontsize=7)
    fig.colorbar(im)
    ax.set_title(f"{artifact} minus Keras: confusion counts")
    save_figure(fig, target)


def disagreements_plot(images: np.ndarray, labels: np.ndarray, reference_pred: np.ndarray,
                       rows: list[tuple[str, np.ndarray]], class_names: list[str], target: Path,
                       limit: int = 12) -> bool:
    """Test images where an artifact and Keras disagree; False when there are none."""
    shown = [(name, int(i), int(pred[i])) for name, pred in rows for i in np.flatnonzero(pred != reference_pred)]
    if not shown:
        return False
    shown = shown[:limit]
    plt = pyplot()
    cols = min(6, len(shown))
    fig, axes = plt.subplots((len(shown) + cols - 1) // cols, cols, figsize=(2 * cols, 2.4 * ((len(shown) + cols - 1) // cols)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (name, i, pred) in zip(axes.ravel(), shown):
        ax.imshow(images[i], cmap="gray")
        ax.set_title(f"#{i} {name}\nkeras {class_names[reference_pred[i]]}, here {class_names[pred]}\n"
                     f"true {class_names[labels[i]]}", fontsize=7)
    save_figure(fig, target)
    return True
