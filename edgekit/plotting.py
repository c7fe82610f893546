"""Shared plotting helpers for the training and benchmark plots (matplotlib, headless, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.files import atomic_path

DPI = 100


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (no display on CI machines or devices)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, target: Path) -> None:
    """Lay out (unless the figure has its own layout engine), write atomically as PNG, and close it."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    pyplot().close(fig)


def format_ms(value: float) -> str:
    """A duration given in milliseconds, in the unit a person reads it in: 4.6 us, 3.2 ms, 1.7 s."""
    if value < 1:
        return f"{value * 1000:.3g} us"
    if value < 1000:
        return f"{value:.3g} ms"
    return f"{value / 1000:.3g} s"


def integer_axis(axis: Any) -> None:
    """Ticks on whole numbers only (epochs, counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
