"""sqnr-by-layer.png: SQNR by layer, one line per artifact, the layer adding the most error ringed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edgekit.explain.metrics import SQNR_LIMIT_DB
from edgekit.plotting import pyplot, save_figure

if TYPE_CHECKING:
    from edgekit.explain.artifact import ArtifactExplanation

SHOWN_LIMIT_DB = 160.0  # identical tensors (200 dB) are drawn at the top edge, labelled "identical"
# colour = mode, line and marker = format; formats sit a little apart so that equal lines stay visible
COLOURS = {
    "float32": "tab:blue",
    "float16": "tab:orange",
    "dynamic": "tab:green",
    "int8": "tab:red",
    "int8-mixed": "tab:purple",
}
FORMAT_STYLES = {"tflite": ("-", "o", -0.06), "onnx": ("--", "s", 0.06)}


def sqnr_plot(model_layers: Sequence[str], explanations: Sequence[ArtifactExplanation], target: Path) -> None:
    """Write the plot: x = the Keras layers in model order, y = SQNR (dB) of the artifact's tensor for it."""
    plt = pyplot()
    matched = {r.layer for e in explanations for r in e.rows}
    layers = [layer for layer in model_layers if layer in matched]
    fig, ax = plt.subplots(figsize=(max(6.5, 0.9 * len(layers) + 2.5), 4.8))
    for explanation in explanations:
        style, marker, shift = FORMAT_STYLES.get(explanation.format.value, ("-", "o", 0.0))
        colour = COLOURS.get(_mode(explanation), "tab:gray")
        xs = [layers.index(r.layer) + shift for r in explanation.rows]
        ys = [min(r.sqnr_db, SHOWN_LIMIT_DB) for r in explanation.rows]
        ax.plot(xs, ys, style, marker=marker, markersize=4, color=colour, label=explanation.name, linewidth=1.4)
        worst = explanation.worst
        if worst is not None:
            ax.plot([layers.index(worst.layer) + shift], [worst.sqnr_db], "o", markersize=13, markerfacecolor="none",
                    markeredgecolor=colour, markeredgewidth=2)  # fmt: skip
    ax.set_xticks(range(len(layers)), layers, rotation=30, ha="right")
    ax.set_ylim(min(0.0, *(r.sqnr_db for e in explanations for r in e.rows)) - 5, SHOWN_LIMIT_DB + 10)
    ax.axhline(SHOWN_LIMIT_DB, color="0.8", linewidth=0.8)
    ax.text(0, SHOWN_LIMIT_DB + 2, f"identical ({SQNR_LIMIT_DB:.0f} dB) drawn here", fontsize=8, color="0.4")
    ax.set_ylabel("SQNR vs Keras (dB, higher is closer)")
    ax.set_title("Where the drift comes in: SQNR of each layer's output (ring: the layer adding the most error)")
    ax.title.set_fontsize(10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save_figure(fig, target)


def _mode(explanation: ArtifactExplanation) -> str:
    return "float32" if explanation.mode == "none" else explanation.mode
