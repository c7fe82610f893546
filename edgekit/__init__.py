"""edgekit: train a small Keras model, convert it for the edge, run and benchmark it honestly."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # the version is read on first use: importlib.metadata costs every start of the CLI about 15 ms
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("edgekit")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0+local"
    raise AttributeError(f"module 'edgekit' has no attribute {name!r}")
