"""Workflows above convert/ and explain/: what needs both. The accuracy-aware int8 loop
(``--allow-float-fallback``, ``float_fallback.py``) converts and ranks layers with explain's comparison, and the
one-line verdict on an int8 artifact outside its band (``verdict.py``) names explain's worst layer, so both live
here; conversion takes them as one hook (``ConvertOptions.int8_review``): ``convert_all`` here is
``edgekit.convert.convert_all`` with the review plugged in (the CLI and the pipeline call this one).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from edgekit.convert import ConversionResult, ConvertOptions
from edgekit.convert import convert_all as convert_without_fallback
from edgekit.formats import Format, Quantization
from edgekit.workflows.float_fallback import int8_or_mixed

__all__ = ["convert", "convert_all", "int8_or_mixed"]


def convert_all(
    source: Path, pairs: list[tuple[Format, Quantization]], options: ConvertOptions | None = None, **kwargs: Any
) -> list[ConversionResult]:
    """``edgekit.convert.convert_all`` with ``--allow-float-fallback``'s loop and the int8 verdict."""
    options = replace(options or ConvertOptions(), int8_review=int8_or_mixed)
    return convert_without_fallback(source, pairs, options, **kwargs)


def convert(
    source: Path, fmt: Format | str, mode: Quantization | str, options: ConvertOptions | None = None, **kwargs: Any
) -> ConversionResult:
    """Convert one model to one format and mode; see convert_all."""
    [result] = convert_all(source, [(Format(fmt), Quantization(mode))], options, **kwargs)
    return result
