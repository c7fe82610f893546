"""Installed library versions, read from package metadata (never by importing the packages)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

# Distributions whose versions go into every manifest and report.
TRACKED_PACKAGES = (
    "edgekit",
    "numpy",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "ai-edge-litert",
    "tflite-runtime",
)


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or None; never imports the package."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries edgekit's results depend on."""
    found = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        v = package_version(name)
        if v is not None:
            found[name] = v
    return found
