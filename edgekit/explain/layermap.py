"""The layer map: which artifact tensor is each Keras layer's output, or why none is.

A layer is matched, in this order:
- the model input and the model output to the artifact's input and output tensors;
- by name: the last activation (in execution order) that the layer owns by its name scope
  (``convert/scopes.py``) and whose shape is the layer's, directly or channels-first (tf2onnx runs
  convolutions NCHW: the tensor is transposed back to NHWC before it is compared);
- by shape: the only activation with the layer's shape between its matched neighbours.
Anything else is listed with the reason: fused into a later layer (its output is never materialised),
the identity at inference (Dropout: no op of its own), or nothing carries its name or shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.convert.scopes import LayerScopes
from edgekit.explain.capture import Capture, CapturedTensor
from edgekit.explain.golden import INPUT_LAYER, Golden


@dataclass(frozen=True)
class Boundary:
    """A layer output that survives conversion: the layer, its artifact tensor and how they were matched."""

    layer: str
    tensor: CapturedTensor
    match: str  # "input", "output", "name" or "shape"
    channels_first: bool  # the tensor is NCHW where Keras is NHWC

    def values(self) -> np.ndarray:
        """The tensor's values in the Keras layout."""
        return np.moveaxis(self.tensor.values, 1, -1) if self.channels_first else self.tensor.values


@dataclass(frozen=True)
class Unmatched:
    """A layer with no tensor to compare, and why."""

    layer: str
    reason: str


@dataclass(frozen=True)
class LayerMap:
    boundaries: tuple[Boundary, ...]  # in model order
    unmatched: tuple[Unmatched, ...]


def layout_of(tensor: CapturedTensor, expected: tuple[int, ...]) -> bool | None:
    """False when the tensor has the expected shape, True when it has it channels-first, None otherwise."""
    shape = tensor.values.shape
    if shape == expected:
        return False
    if len(shape) >= 3 and np.moveaxis(tensor.values, 1, -1).shape == expected:
        return True
    return None


def map_layers(golden: Golden, capture: Capture) -> LayerMap:
    """Match every tapped layer of ``golden`` to a tensor of ``capture`` (see the module docstring)."""
    names = golden.layer_names
    scopes = LayerScopes(names, (t.scope for t in capture.tensors))
    found: dict[str, Boundary] = {}
    for layer in names:
        boundary = _fixed(layer, golden, capture) or _by_name(layer, golden, capture, scopes)
        if boundary is not None:
            found[layer] = boundary
    for position, layer in enumerate(names):
        if layer not in found:
            boundary = _by_shape(position, golden, capture, found)
            if boundary is not None:
                found[layer] = boundary
    unmatched = tuple(
        Unmatched(layer, _why(position, golden, capture, scopes))
        for position, layer in enumerate(names)
        if layer not in found
    )
    return LayerMap(tuple(found[layer] for layer in names if layer in found), unmatched)


def _boundary(layer: str, tensor: CapturedTensor | None, golden: Golden, match: str) -> Boundary | None:
    if tensor is None:
        return None
    channels_first = layout_of(tensor, golden.values[layer].shape)
    return None if channels_first is None else Boundary(layer, tensor, match, channels_first)


def _fixed(layer: str, golden: Golden, capture: Capture) -> Boundary | None:
    if layer == INPUT_LAYER:
        name, match = capture.input_name, "input"
    elif layer == golden.output_layer:
        name, match = capture.output_name, "output"
    else:
        return None
    return _boundary(layer, next((t for t in capture.tensors if t.name == name), None), golden, match)


def _by_name(layer: str, golden: Golden, capture: Capture, scopes: LayerScopes) -> Boundary | None:
    index = golden.layer_names.index(layer)
    owned = [t for t in capture.tensors if scopes.owner(t.scope) == index]
    fitting = [b for b in (_boundary(layer, t, golden, "name") for t in owned) if b is not None]
    return fitting[-1] if fitting else None


def _by_shape(position: int, golden: Golden, capture: Capture, found: dict[str, Boundary]) -> Boundary | None:
    names = golden.layer_names
    before = [found[n].tensor.order for n in names[:position] if n in found]
    after = [found[n].tensor.order for n in names[position + 1 :] if n in found]
    low, high = (before[-1] if before else -1), (after[0] if after else float("inf"))
    used = {b.tensor.name for b in found.values()}
    between = [t for t in capture.tensors if low < t.order < high and t.name not in used]
    fitting = [b for b in (_boundary(names[position], t, golden, "shape") for t in between) if b is not None]
    return fitting[0] if len(fitting) == 1 else None


def _why(position: int, golden: Golden, capture: Capture, scopes: LayerScopes) -> str:
    names = golden.layer_names
    owners = {scopes.owner(t.scope) for t in capture.tensors if position in scopes.layers_in(t.scope)}
    later = sorted(o for o in owners if o is not None and o > position)
    if later:
        return f"fused into {names[later[0]]}: its own output is never materialised"
    if position > 0 and np.array_equal(golden.values[names[position]], golden.values[names[position - 1]]):
        return "the identity at inference: no op of its own in the artifact"
    return "no activation carries its name or its shape"
