"""The facts the structural check of a .tflite file works on: tensors as plain values, one operator's view
of them, the dtype tables, and the one exception a problem is raised as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

CUSTOM = 32  # BuiltinOperator.CUSTOM
BYTES_PER_ELEMENT: dict[str, float] = {
    **dict.fromkeys(("FLOAT32", "INT32", "UINT32"), 4),
    **dict.fromkeys(("FLOAT16", "INT16", "UINT16", "BFLOAT16"), 2),
    **dict.fromkeys(("INT64", "UINT64", "FLOAT64", "COMPLEX64"), 8),
    **dict.fromkeys(("UINT8", "INT8", "BOOL", "FLOAT8_E4M3FN", "FLOAT8_E5M2"), 1),
    "COMPLEX128": 16,
    **dict.fromkeys(("INT4", "UINT4"), 0.5),
    "INT2": 0.25,
}  # STRING, RESOURCE and VARIANT have no fixed size
INTEGER_RANGES = {
    "INT8": (-128, 127),
    "UINT8": (0, 255),
    "INT16": (-32768, 32767),
    "UINT16": (0, 65535),
    "INT4": (-8, 7),
    "UINT4": (0, 15),
    "INT2": (-2, 1),
    "INT32": (-(1 << 31), (1 << 31) - 1),
}
QUANTIZED = frozenset(("INT8", "UINT8", "INT16", "INT4", "UINT4", "INT2"))
ACTIVATIONS = frozenset(("FLOAT32", "INT8", "UINT8", "INT16"))
NUMBERS = ACTIVATIONS | {"INT32", "INT64"}
INDICES = frozenset(("INT32", "INT64"))
# ops that only move values (RESHAPE, TRANSPOSE, CONCATENATION, ...) take any dtype but handles
VALUES = frozenset((*BYTES_PER_ELEMENT, "STRING"))


class TFLiteProblem(Exception):
    """The first structural problem of a .tflite file, as one line."""


@dataclass(frozen=True)
class TensorFacts:
    dtype: str
    shape: tuple[int, ...]
    constant: bool
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    quantized_dimension: int
    variable: bool


@dataclass(frozen=True)
class OpView:
    """One operator as its rule sees it; ``name`` says where it is, for messages."""

    name: str
    code: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    tensors: list[TensorFacts]
    options: tuple[str, Any] | None  # (table class name, reader object)

    def fail(self, problem: str) -> NoReturn:
        raise TFLiteProblem(f"{self.name}: {problem}")

    def optional(self, k: int) -> TensorFacts | None:
        return self.tensors[self.inputs[k]] if k < len(self.inputs) and self.inputs[k] >= 0 else None

    def input(self, k: int) -> TensorFacts:
        t = self.optional(k)
        if t is None:
            self.fail(f"input {k} is missing")
        return t

    def option(self, field: str, default: Any) -> Any:
        return getattr(self.options[1], field)() if self.options else default

    def output(self, k: int = 0) -> TensorFacts:
        return self.tensors[self.outputs[k]]

    def data(self) -> list[TensorFacts]:
        return [self.tensors[i] for i in self.inputs if i >= 0]


def need_quantized(op: OpView, t: TensorFacts | None, what: str) -> None:
    if t is not None and t.dtype in QUANTIZED and not t.scales:
        op.fail(f"its {what} is {t.dtype} without quantization parameters")


def need_types(op: OpView, t: TensorFacts | None, allowed: frozenset[str] | set[str], what: str) -> None:
    if t is not None and t.dtype not in allowed:
        op.fail(f"its {what} is {t.dtype}, expected {' or '.join(sorted(allowed))}")


def need_same(op: OpView, positions: tuple[int, ...] = (0,), allowed: frozenset[str] = NUMBERS) -> None:
    """The listed inputs and every output share the first input's dtype (quantized where the dtype is)."""
    first = op.input(positions[0])
    need_types(op, first, allowed, "input")
    for k in positions[1:]:
        t = op.optional(k)
        if t is not None and t.dtype != first.dtype:
            op.fail(f"input {k} is {t.dtype}, input {positions[0]} is {first.dtype}")
    for k in range(len(op.outputs)):
        if op.output(k).dtype != first.dtype:
            op.fail(f"output {k} is {op.output(k).dtype}, its input is {first.dtype}")
    for t in [first, *(op.output(k) for k in range(len(op.outputs)))]:
        need_quantized(op, t, "data")


def need_rank(op: OpView, t: TensorFacts | None, rank: int, what: str) -> None:
    if t is not None and t.shape and len(t.shape) != rank:
        op.fail(f"its {what} has shape {list(t.shape)}, expected rank {rank}")
