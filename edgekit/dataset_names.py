"""The built-in datasets' names: the enum the CLI's ``--dataset`` choices come from.

Apart from ``edgekit.data`` so that the CLI can offer the choices without importing the data package
(numpy loaders, checks, downloads): ``edgekit predict`` starts without it.
"""

from __future__ import annotations

from enum import Enum


class DatasetName(str, Enum):
    """Datasets edgekit knows."""

    MNIST = "mnist"
    FASHION_MNIST = "fashion-mnist"
