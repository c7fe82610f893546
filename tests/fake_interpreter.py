"""A stand-in interpreter module for the probe's tests: it hangs, dies by a signal or raises where
FAKE_INTERPRETER says (``hang:allocate``, ``segv:invoke``, ``raise:allocate``), in a child process only."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np


def _maybe(step: str) -> None:
    mode, _, where = os.environ.get("FAKE_INTERPRETER", "").partition(":")
    if where != step:
        return
    if mode == "hang":
        time.sleep(3600)
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "raise":
        raise RuntimeError("tensor 3 has no buffer\nsecond line")


class Interpreter:
    def __init__(self, model_content: bytes, num_threads: int | None = None) -> None:
        _maybe("load")

    def allocate_tensors(self) -> None:
        _maybe("allocate")

    def get_input_details(self) -> list[dict[str, Any]]:
        shape = np.array([1, 4], np.int32)
        return [{"index": 0, "shape": shape, "shape_signature": shape, "dtype": np.float32}]

    def get_output_details(self) -> list[dict[str, Any]]:
        return self.get_input_details()

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        pass

    def invoke(self) -> None:
        _maybe("invoke")

    def get_tensor(self, index: int) -> np.ndarray:
        return np.zeros((1, 4), np.float32)
