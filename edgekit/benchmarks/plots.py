"""Benchmark plots: latency per artifact, accuracy vs size, int8 confusion difference, disagreements."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.benchmarks.measure import EvaluationSet
from edgekit.benchmarks.results import ArtifactResult, BenchReport
from edgekit.formats import Format
from edgekit.plotting import format_ms, pyplot, save_figure

COLOURS = {"keras": "#8c8c8c", Format.TFLITE: "#4c72b0", Format.ONNX: "#dd8452"}
MARKERS = {Format.TFLITE: "o", Format.ONNX: "s"}
FORMAT_LABELS = {Format.TFLITE: "TFLite", Format.ONNX: "ONNX"}


def latency_plot(report: BenchReport, target: Path) -> None:
    """Median bars with whiskers to p90 at the smallest batch, log scale, Keras included, values printed."""
    plt = pyplot()
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    batch, ref = report.config.smallest_batch, report.reference
    rows = (
        [
            ("keras model.predict", ref.predict_latency[batch], COLOURS["keras"]),
            ("keras direct call", ref.call_latency[batch], COLOURS["keras"]),
        ]
        if ref.is_keras
        else []
    )  # without a Keras model the reference is one of the artifacts, drawn once, as an artifact
    rows += [(r.name, r.latency[batch], COLOURS[r.format]) for r in report.artifacts]
    p50 = np.array([s.p50_ms for _, s, _ in rows])
    p90 = np.array([s.p90_ms for _, s, _ in rows])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.8))
    y = np.arange(len(rows))
    ax.barh(y, p50, xerr=[np.zeros_like(p50), p90 - p50], capsize=3, color=[c for _, _, c in rows])
    for i, (median, slow) in enumerate(zip(p50, p90, strict=True)):
        ax.text(slow * 1.15, i, format_ms(median), va="center", fontsize=9)
    ax.set_yticks(y, [n for n, _, _ in rows], fontsize=10)
    ax.set_xscale("log")
    ax.set_xlim(p50.min() / 2, p90.max() * 6)  # room for the printed medians
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_ms(v)))
    ax.set_xlabel(f"time per call at batch {batch} (log scale): bar = median (p50), whisker = p90")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    present: list[Format | str] = ["keras"] * ref.is_keras + list(dict.fromkeys(r.format for r in report.artifacts))
    ax.legend(
        handles=[Patch(color=COLOURS[k], label="Keras" if k == "keras" else FORMAT_LABELS[Format(k)]) for k in present],
        loc="lower right",
        fontsize=9,
    )
    ax.set_title(f"{report.model}: latency per call, {report.environment.threads or 'default'} thread(s)")
    save_figure(fig, target)


Point = tuple[float, float, str]  # x, y, label


def label_groups(points: list[Point], x_span: float, y_span: float) -> list[Point]:
    """Points close enough for their labels to collide share one label, names one per line."""
    groups: list[list[Point]] = []
    for point in sorted(points, key=lambda p: (-p[1], p[0])):
        for group in groups:
            x, y, _ = group[0]
            if abs(point[0] - x) <= 0.06 * x_span and abs(point[1] - y) <= 0.04 * y_span:
                group.append(point)
                break
        else:
            groups.append([point])
    return [(g[0][0], g[0][1], "\n".join(name for _, _, name in g)) for g in groups]


def accuracy_size_plot(report: BenchReport, target: Path) -> None:
    """Accuracy against size on disk, one point per artifact, Keras accuracy as a line."""
    plt = pyplot()
    from matplotlib.ticker import FormatStrFormatter

    fig, ax = plt.subplots(figsize=(8, 5.5))
    rows = report.artifacts
    sizes = np.array([r.size_bytes / 1024 for r in rows])
    accuracies = np.array([r.drift.accuracy * 100 for r in rows])
    keras = report.reference.accuracy * 100
    one_image = 100 / report.dataset.images
    # at least a 1-point span: a 0.1-point range would make one image look like a collapse
    low, high = min(accuracies.min(), keras), max(accuracies.max(), keras)
    pad = max(0.5 - (high - low) / 2, 0) + max(2 * one_image, 0.05)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(0, sizes.max() * 1.3)
    name = "Keras reference" if report.reference.is_keras else f"reference {report.reference.name}"
    ax.axhline(keras, color=COLOURS["keras"], linestyle="--", label=f"{name} ({keras:.2f}%)", zorder=1)
    for fmt in dict.fromkeys(r.format for r in rows):
        mine = [i for i, r in enumerate(rows) if r.format is fmt]
        # hollow, larger ONNX squares: a TFLite circle on the same spot stays visible inside
        style = (
            {"facecolors": "none", "edgecolors": COLOURS[fmt], "linewidths": 2, "s": 110}
            if fmt is Format.ONNX
            else {"color": COLOURS[fmt], "s": 45}
        )
        ax.scatter(sizes[mine], accuracies[mine], marker=MARKERS[fmt], label=FORMAT_LABELS[fmt], zorder=3, **style)
    points = [(float(s), float(a), r.name) for s, a, r in zip(sizes, accuracies, rows, strict=True)]
    y_low, y_high = ax.get_ylim()
    for x, y, text in label_groups(points, sizes.max() * 1.3, y_high - y_low):
        ax.annotate(
            text,
            (x, y),
            xytext=(8, 0),
            textcoords="offset points",
            fontsize=9,
            va="center",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.1f"))
    ax.set_xlabel("size on disk (KiB)")
    ax.set_ylabel(f"accuracy on {report.dataset.images:,} {report.dataset.split} images (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(f"{report.model}: accuracy vs size (one image = {one_image:.2g} points)")
    save_figure(fig, target)


def confusion_diff_plot(row: ArtifactResult, evaluation: EvaluationSet, target: Path) -> None:
    """An artifact's confusion counts minus the reference's: which answers moved where, in whole images."""
    plt = pyplot()
    from matplotlib.colors import BoundaryNorm
    from matplotlib.ticker import MaxNLocator

    from edgekit.benchmarks.drift import confusion_matrix

    names = list(evaluation.contract.class_names)
    reference = confusion_matrix(evaluation.labels, evaluation.reference_predicted, len(names))
    diff = np.asarray(row.drift.confusion_matrix) - reference
    limit = max(1, int(np.abs(diff).max()))
    norm = BoundaryNorm(np.arange(-limit - 0.5, limit + 1), plt.get_cmap("RdBu_r").N)
    side = max(6.0, 0.45 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(diff, cmap="RdBu_r", norm=norm)
    _draw_cells(ax, len(names))
    if len(names) <= 20:
        _write_counts(ax, diff, limit)
    long_names = max(map(len, names)) > 3
    ax.set_xticks(
        range(len(names)), names, fontsize=10, rotation=45 if long_names else 0, ha="right" if long_names else "center"
    )
    ax.set_yticks(range(len(names)), names, fontsize=10)
    ax.set_xlabel(f"class {row.name} answered", fontsize=11)
    ax.set_ylabel("true class", fontsize=11)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, ticks=MaxNLocator(integer=True))
    bar.set_label(f"images: {row.name} count minus {evaluation.reference_label} count")
    moved = row.drift.disagreements
    ax.set_title(
        f"{row.name} vs {evaluation.reference_label}: {moved} of {len(evaluation.labels):,} answers changed\n"
        f"red: more images in the cell than {evaluation.reference_label}, blue: fewer; outlined: right answers",
        fontsize=11,
    )
    save_figure(fig, target)


def _draw_cells(ax: Any, classes: int) -> None:
    """White lines between the cells, and an outline on the diagonal, where the right answers are."""
    from matplotlib.patches import Rectangle

    ax.set_xticks(np.arange(classes + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(classes + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    for k in range(classes):
        ax.add_patch(
            Rectangle((k - 0.44, k - 0.44), 0.88, 0.88, fill=False, edgecolor="#444444", linewidth=1.2, zorder=3)
        )


def _write_counts(ax: Any, diff: np.ndarray, limit: int) -> None:
    """Signed counts on the non-zero cells, white on the dark ones."""
    for (i, j), value in np.ndenumerate(diff):
        if value:
            ax.text(
                j,
                i,
                f"{value:+d}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if abs(value) > limit / 2 else "black",
            )


def disagreements_plot(
    evaluation: EvaluationSet, answers: Mapping[str, np.ndarray], target: Path, limit: int = 12
) -> bool:
    """Test images where an artifact and Keras disagree, one panel per image; False when there are none."""
    reference = evaluation.reference_predicted
    differs = {name: predicted != reference for name, predicted in answers.items()}
    indices = sorted(
        {int(i) for mask in differs.values() for i in np.flatnonzero(mask)},
        key=lambda i: (-sum(bool(mask[i]) for mask in differs.values()), i),
    )
    if not indices:
        return False
    shown = indices[:limit]
    plt = pyplot()
    cols = min(6, len(shown))
    rows = (len(shown) + cols - 1) // cols
    titles = [_disagreement_title(i, evaluation, answers) for i in shown]
    title_lines = max(t.count("\n") + 1 for t in titles)
    titles = [t + "\n" * (title_lines - 1 - t.count("\n")) for t in titles]  # first lines level with each other
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.3 * cols, (2.1 + 0.16 * title_lines) * rows + 0.6), squeeze=False, layout="constrained"
    )
    fig.get_layout_engine().set(h_pad=0.1)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i, title in zip(axes.ravel(), shown, titles, strict=False):
        ax.imshow(evaluation.images[i], cmap="gray")
        ax.set_title(title, fontsize=8, loc="left")
    fig.suptitle(
        f"Images where an artifact answers differently from {evaluation.reference_label}: "
        f"{len(shown)} of {len(indices)}, "
        "those most artifacts disagree on first",
        fontsize=10,
    )
    save_figure(fig, target)
    return True


def _disagreement_title(index: int, evaluation: EvaluationSet, answers: Mapping[str, np.ndarray]) -> str:
    """'#570, true 5', 'Keras: 5 (right)', then per other answer '-> 3 (wrong): the artifacts giving it'."""
    names, true = evaluation.contract.class_names, int(evaluation.labels[index])
    keras = int(evaluation.reference_predicted[index])
    by_answer: dict[int, list[str]] = {}
    for name, predicted in answers.items():
        if int(predicted[index]) != keras:
            by_answer.setdefault(int(predicted[index]), []).append(name)

    def verdict(answer: int) -> str:
        return f"{names[answer]} ({'right' if answer == true else 'wrong'})"

    lines = [f"#{index}, true {names[true]}", f"{evaluation.reference_label}: {verdict(keras)}"]
    for answer, artifacts in sorted(by_answer.items()):
        lines += textwrap.wrap(
            f"→ {verdict(answer)}: {', '.join(artifacts)}", width=32, subsequent_indent="    ", break_on_hyphens=False
        )
    return "\n".join(lines)
