"""Importing TensorFlow quietly: one place, used by training, conversion and benchmarks (never the runtime)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    # TensorFlow 2.21 writes absl/oneDNN start-up lines straight to file descriptor 2, ignoring
    # TF_CPP_MIN_LOG_LEVEL; they alarm users and bury edgekit's own messages. Python-level
    # exceptions still propagate untouched. EDGEKIT_TF_VERBOSE=1 keeps them.
    if os.environ.get("EDGEKIT_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> Any:
    """Import and return tensorflow with its start-up chatter suppressed (Keras is imported too)."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs its own lines on first use
    return tf


def describe_device() -> str:
    """'GPU (name)' when TensorFlow sees a GPU, else 'CPU'."""
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else "CPU"
