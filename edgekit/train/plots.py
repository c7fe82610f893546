"""Training plots: loss/accuracy curves and a grid of test predictions (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekit.plotting import integer_axis, pyplot, save_figure

GRID_SIZE = 5
MAX_WRONG_SHOWN = 8


def plot_curves(history: dict[str, list[float]], target: Path, title: str) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=label)
        ax.set_xlabel("epoch")
        integer_axis(ax.xaxis)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    save_figure(fig, target)


def _spread(indices: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` of ``indices``, evenly spaced (datasets are often ordered by class)."""
    if len(indices) <= count:
        return indices
    return indices[np.linspace(0, len(indices) - 1, count).round().astype(int)]


def pick_grid_indices(true: np.ndarray, predicted: np.ndarray, count: int = GRID_SIZE * GRID_SIZE) -> np.ndarray:
    """Up to MAX_WRONG_SHOWN misclassified images and correct ones to fill the grid, spread over the set."""
    wrong = _spread(np.flatnonzero(true != predicted), min(MAX_WRONG_SHOWN, count))
    right = _spread(np.flatnonzero(true == predicted), count - len(wrong))
    return np.sort(np.concatenate([wrong, right]))


def grid_title(true: np.ndarray, predicted: np.ndarray, picked: np.ndarray) -> str:
    """Says how the grid was chosen: wrong answers are over-represented on purpose, so the grid is no sample."""
    wrong = true != predicted
    shown_wrong = int(wrong[picked].sum())
    accuracy = f"Test accuracy {float(np.mean(~wrong)):.1%} on {len(true):,} images."
    if not shown_wrong:
        return f"Test images, titled predicted (true): {len(picked)} of {len(true):,}, none wrong.\n{accuracy}"
    return (
        f"Test images, titled predicted (true). The {shown_wrong} red ones are {shown_wrong} of the "
        f"{int(wrong.sum()):,} wrong answers,\nshown first on purpose; then {len(picked) - shown_wrong} of the "
        f"{int((~wrong).sum()):,} right ones. {accuracy}"
    )


def plot_predictions(
    images: np.ndarray, true: np.ndarray, predicted: np.ndarray, class_names: Sequence[str], target: Path
) -> None:
    """A grid of test images titled 'predicted (true)': the wrong ones first, in red, then right ones."""
    plt = pyplot()
    picked = pick_grid_indices(true, predicted)
    picked = np.concatenate([picked[true[picked] != predicted[picked]], picked[true[picked] == predicted[picked]]])
    fig, axes = plt.subplots(GRID_SIZE, GRID_SIZE, figsize=(8, 9))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), picked, strict=False):
        ax.imshow(images[i], cmap="gray")
        ok = true[i] == predicted[i]
        ax.set_title(
            f"{class_names[predicted[i]]} ({class_names[true[i]]})",
            fontsize=9,
            color="black" if ok else "red",
            fontweight="normal" if ok else "bold",
        )
    fig.suptitle(grid_title(true, predicted, picked), fontsize=10)
    save_figure(fig, target)
