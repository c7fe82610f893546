"""The options tables of TFLite operators: values the kernels divide by or index with, and the subgraphs
control-flow operators call."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from edgekit.runtime.tflite.facts import OpView

CONTROL_FLOW = {"IF": "IfOptions", "WHILE": "WhileOptions", "CALL_ONCE": "CallOnceOptions", "CALL": "CallOptions"}
_SUBGRAPH_FIELDS = {
    "IfOptions": ("ThenSubgraphIndex", "ElseSubgraphIndex"),
    "WhileOptions": ("CondSubgraphIndex", "BodySubgraphIndex"),
    "CallOnceOptions": ("InitSubgraphIndex",),
    "CallOptions": ("Subgraph",),
}
_PADDING, _ACTIVATION = (0, 1), range(6)
_FIELDS: dict[str, tuple[tuple[str, Callable[[Any], bool]], ...]] = {
    "Conv2DOptions": (("Padding", _PADDING.__contains__), ("StrideW", (1).__le__), ("StrideH", (1).__le__)),
    "DepthwiseConv2DOptions": (("Padding", _PADDING.__contains__), ("StrideW", (1).__le__), ("StrideH", (1).__le__)),
    "Pool2DOptions": (
        ("Padding", _PADDING.__contains__),
        ("StrideW", (1).__le__),
        ("StrideH", (1).__le__),
        ("FilterWidth", (1).__le__),
        ("FilterHeight", (1).__le__),
    ),
    "FullyConnectedOptions": (("WeightsFormat", (0, 1).__contains__),),
    "SoftmaxOptions": (("Beta", math.isfinite),),
    "LeakyReluOptions": (("Alpha", math.isfinite),),
    "ShapeOptions": (("OutType", (2, 4).__contains__),),
}


def check_options(op: OpView, expected: str | None, required: bool) -> None:
    """The options table an op carries is the one its kernel reads (present where the kernel's defaults are
    unusable), with values in range."""
    if op.options is None:
        if required:
            op.fail(f"it has no {expected}")
        return
    kind, obj = op.options
    if expected is not None and kind != expected:
        op.fail(f"it carries {kind} instead of {expected}")
    fields = _FIELDS.get(kind, ())
    if hasattr(obj, "DilationWFactor"):
        fields += (("DilationWFactor", (1).__le__), ("DilationHFactor", (1).__le__))
    if hasattr(obj, "FusedActivationFunction"):
        fields += (("FusedActivationFunction", _ACTIVATION.__contains__),)
    if hasattr(obj, "DepthMultiplier"):
        fields += (("DepthMultiplier", (0).__le__),)
    for field, ok in fields:
        if not ok(getattr(obj, field)()):
            op.fail(f"option {field} = {getattr(obj, field)()} is out of range")


def subgraph_calls(op: OpView, n_subgraphs: int) -> set[int]:
    """The subgraphs a control-flow op runs, each in range."""
    if op.code not in CONTROL_FLOW:
        return set()
    if op.options is None or op.options[0] != CONTROL_FLOW[op.code]:
        op.fail(f"it has no {CONTROL_FLOW[op.code]}")
    called = {getattr(op.options[1], field)() for field in _SUBGRAPH_FIELDS[op.options[0]]}
    if any(not 0 <= s < n_subgraphs for s in called):
        op.fail(f"it calls subgraphs {sorted(called)} of {n_subgraphs}")
    return called
