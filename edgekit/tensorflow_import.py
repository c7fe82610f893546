"""Importing TensorFlow quietly: one place, used by training, conversion and benchmarks (never the runtime)."""

from __future__ import annotations

import os
import sys
from typing import Any

from edgekit.native_output import quiet_native_output


def import_tensorflow() -> Any:
    """Import and return tensorflow with its start-up chatter suppressed (Keras is imported too)."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_native_output():
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
