"""Keeping native libraries' chatter (TensorFlow, LiteRT, onnxruntime) off the user's terminal."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Silence native start-up chatter for the duration of a block; exceptions still propagate."""
    # TensorFlow 2.21 writes absl/oneDNN start-up lines straight to file descriptor 2, ignoring
    # TF_CPP_MIN_LOG_LEVEL, and LiteRT announces its XNNPACK delegate there: they alarm users and
    # bury edgekit's own messages. EDGEKIT_TF_VERBOSE=1 keeps them.
    # The TFLite converter also print()s "Saved artifact at ..." to stdout, which would break --json.
    if os.environ.get("EDGEKIT_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
