"""What every CLI test asserts about a result, besides its own figures."""

from __future__ import annotations

from typing import Any


def no_bug(result: Any) -> bool:
    """The command ended through edgekit's own error handling (or succeeded): no exception escaped it.

    CliRunner catches exceptions instead of printing a traceback, so "Traceback" never appears in its output:
    this is the check that can fail."""
    return result.exception is None or isinstance(result.exception, SystemExit)
