"""The gate's limits: one frozen object, read from flags or a TOML file, every value range-checked.

A limit that is not a finite number in its range (``nan``, ``inf``, an agreement of 2, a negative drop)
is a usage error (exit 2): a comparison with NaN is always false, so such a gate would pass without
checking anything.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from edgekit.errors import UsageError

MAX_THRESHOLDS_BYTES = 1 << 20  # a thresholds file is a few lines; anything bigger is not one

# The range each limit must lie in: (low, high, whether low itself is allowed), and what it measures.
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "max_accuracy_drop": (0.0, 100.0, True, "percentage points, 0..100"),
    "min_agreement": (0.0, 1.0, True, "a fraction, 0..1"),
    "max_latency_ms": (0.0, math.inf, False, "milliseconds, above 0"),
    "max_slowdown": (0.0, math.inf, False, "a ratio, above 0"),
    "max_accuracy_regression": (0.0, 100.0, True, "percentage points, 0..100"),
}


@dataclass(frozen=True)
class Thresholds:
    """Limits a benchmark must stay within; None means unchecked."""

    max_accuracy_drop: float | None = None  # points below the Keras reference
    min_agreement: float | None = None  # top-1 agreement with the Keras reference, fraction
    max_latency_ms: float | None = None  # p90 at the smallest batch size
    max_slowdown: float | None = None  # p50 at the smallest batch size / the baseline's, ratio
    max_accuracy_regression: float | None = None  # points below the baseline's accuracy

    def active(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def needs_baseline(self) -> bool:
        """Whether a threshold compares with an earlier report."""
        return self.max_slowdown is not None or self.max_accuracy_regression is not None

    def validate(self, where: str = "") -> None:
        """UsageError naming the first limit that is not a finite number in its range."""
        for key, value in self.active().items():
            problem = range_problem(key, value)
            if problem:
                shown = f"--{key.replace('_', '-')}" if not where else f"{key} {where}"
                raise UsageError(
                    f"threshold {shown} = {value} {problem}", "a threshold is a finite number in its range"
                )


def range_problem(key: str, value: float) -> str | None:
    """Why ``value`` cannot be the limit ``key``, or None."""
    low, high, low_ok, _ = RANGES[key]
    if not math.isfinite(value):
        return "is not a finite number (a comparison with it would never fail)"
    if value < low or (value == low and not low_ok) or value > high:
        return f"is out of range ({RANGES[key][3]})"
    return None


def load_thresholds(path: Path) -> Thresholds:
    """Thresholds from a TOML file: keys at the top level or under [gate], dashes or underscores."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"threshold file {path} does not exist")
    if not path.is_file():
        raise UsageError(f"threshold file {path} is not a regular file", "pass a TOML file, e.g. gate.toml")
    if path.stat().st_size > MAX_THRESHOLDS_BYTES:
        raise UsageError(f"threshold file {path} is {path.stat().st_size:,} bytes; a thresholds file is a few lines")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read threshold file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"threshold file {path} is not valid TOML: {exc}") from None
    values = _values(data, path)
    thresholds = Thresholds(**values)
    thresholds.validate(f"in {path}")
    return thresholds


def _values(data: dict[str, Any], path: Path) -> dict[str, float]:
    """The file's keys (top level and [gate] together), as floats; anything else is one UsageError."""
    gate = data.get("gate", {})
    if not isinstance(gate, dict):
        raise UsageError(f"[gate] in {path} must be a table of thresholds, not {type(gate).__name__}")
    given = [(k, v) for k, v in data.items() if k != "gate"] + list(gate.items())
    known = {f.name for f in fields(Thresholds)}
    values: dict[str, float] = {}
    for raw_key, value in given:
        key = raw_key.replace("-", "_")
        if key not in known:
            raise UsageError(f"unknown threshold {raw_key!r} in {path}", f"known: {', '.join(sorted(known))}")
        if key in values:
            raise UsageError(f"threshold {key} is given twice in {path} (top level and [gate])")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"threshold {key} in {path} must be a number, not {type(value).__name__} {value!r}")
        values[key] = float(value)
    return values


def merge(base: Thresholds, **flags: float | None) -> Thresholds:
    """Flags given on the command line win over the file's values; each flag is range-checked."""
    given = {k: v for k, v in flags.items() if v is not None}
    Thresholds(**given).validate()
    return replace(base, **given)
