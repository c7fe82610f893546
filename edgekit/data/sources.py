"""Where a command takes its images from: the options every data-reading command shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgekit.data.splits import Dataset


@dataclass(frozen=True)
class DataSources:
    """Where training, conversion, bench and explain take their images from."""

    data: str | Path | None = None  # --data: a folder, .npz, IDX folder or dataset name
    calibration_data: str | Path | None = None  # --calibration-data
    data_dir: Path | None = None  # --data-dir: where the built-in datasets' files are
    offline: bool | None = None
    preloaded: Dataset | None = field(default=None, compare=False)  # the caller has the data already
