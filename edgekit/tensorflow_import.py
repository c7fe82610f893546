"""Importing TensorFlow quietly: one place, used by training, conversion and benchmarks (never the runtime)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from edgekit.native_output import quiet_native_output

LOADING_MESSAGE = "loading TensorFlow (10-45 s the first time)..."
_status: Callable[[str], AbstractContextManager[Any]] | None = None


def show_loading_with(status: Callable[[str], AbstractContextManager[Any]] | None) -> None:
    """Have ``status(message)`` shown while TensorFlow loads (the CLI passes a spinner; the library shows
    nothing by default)."""
    global _status
    _status = status


def import_tensorflow() -> Any:
    """Import and return tensorflow with its start-up chatter suppressed (Keras is imported too)."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _status(LOADING_MESSAGE) if _status else contextlib.nullcontext(), quiet_native_output():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs its own lines on first use
    # Keras' predict() on new batch shapes logs "triggered tf.function retracing" warnings: expected
    # when a benchmark times several batch sizes, and no use to the user.
    tf.get_logger().setLevel("ERROR")
    return tf


def describe_device() -> str:
    """'GPU (name)' when TensorFlow sees a GPU, else 'CPU'."""
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else "CPU"
