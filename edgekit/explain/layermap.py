"""The layer map: which artifact tensor is each Keras layer's output, or why none is.

A layer is matched, in this order:
- the model input and the model output to the artifact's input and output tensors;
- by name: the last activation (in execution order) that the layer owns by its name scope
  (``convert/scopes.py``) and whose shape is the layer's, directly or channels-first (tf2onnx runs
  convolutions NCHW: the tensor is transposed back to NHWC before it is compared);
- by shape: the only activation with the layer's shape between its matched neighbours that no other
  layer's scope claims.
A tensor made by a layout move (tf2onnx's NHWC <-> NCHW Transpose, or a Reshape of a 1x1 map) is its
input again and matches no layer but a Permute or a Reshape. Anything else is listed with the one-line
reason ``reasons.py`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.convert.scopes import LayerScopes
from edgekit.explain.captured import Capture, CapturedTensor
from edgekit.explain.golden import INPUT_LAYER, Golden
from edgekit.explain.reasons import FOLDED_INTO_WEIGHTS, why_unmatched

CONV_KINDS = frozenset({"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Dense"})
RESHAPING_OPS = frozenset({"Reshape", "Squeeze", "Unsqueeze", "Flatten", "RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
MOVING_LAYERS = frozenset({"Permute", "Reshape"})  # layers whose output may be a pure move of their input


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
    """False when the tensor has the expected shape, True when it has it channels-first, None otherwise.

    A tensor that knows its layout is read in it alone: an NCHW (N, 16, 16, 16) is no NHWC one.
    """
    shape = tensor.values.shape
    moved = np.moveaxis(tensor.values, 1, -1).shape if len(shape) >= 3 else None
    if tensor.channels_first is not None:
        fits = (moved if tensor.channels_first else shape) == expected
        return tensor.channels_first if fits else None
    if shape == expected:
        return False
    return True if moved == expected else None


def _comparable(tensor: CapturedTensor, kind: str) -> bool:
    """Whether a tensor can be a layer's output: a layout transpose is its input again, unless the layer is one."""
    return not tensor.moves_only or kind in MOVING_LAYERS


def map_layers(golden: Golden, capture: Capture) -> LayerMap:
    """Match every tapped layer of ``golden`` to a tensor of ``capture`` (see the module docstring)."""
    names = golden.layer_names
    scopes = LayerScopes(names, (t.scope for t in capture.tensors))
    found: dict[str, Boundary] = {}
    for layer in names:
        boundary = _fixed(layer, golden, capture) or _by_name(layer, golden, capture, scopes)
        if boundary is not None:
            found[layer] = boundary
    _give_folded_batchnorms_their_conv(golden, found)
    for position, layer in enumerate(names):
        if layer not in found:
            boundary = _by_shape(position, golden, capture, scopes, found)
            if boundary is not None:
                found[layer] = boundary
    matched = {layer: boundary.tensor for layer, boundary in found.items()}
    unmatched = tuple(
        Unmatched(layer, why_unmatched(position, golden, capture, scopes, matched))
        for position, layer in enumerate(names)
        if layer not in found
    )
    return LayerMap(tuple(found[layer] for layer in names if layer in found), unmatched)


def _give_folded_batchnorms_their_conv(golden: Golden, found: dict[str, Boundary]) -> None:
    """A BatchNormalization with no tensor, right after a matched convolution, was folded into its weights: the
    convolution's tensor is the BatchNormalization's output (TFLite names it after the conv alone when the
    BatchNormalization's offset is zero)."""
    for position in range(1, len(golden.layers)):
        layer, previous = golden.layers[position], golden.layers[position - 1]
        conv = found.get(previous.name)
        if layer.kind in FOLDED_INTO_WEIGHTS and layer.name not in found and conv and previous.kind in CONV_KINDS:
            found[layer.name] = Boundary(layer.name, conv.tensor, conv.match, conv.channels_first)
            del found[previous.name]


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
    kind = golden.layers[index].kind
    owned = [t for t in capture.tensors if scopes.owner(t.scope) == index and _comparable(t, kind)]
    fitting = [b for b in (_boundary(layer, t, golden, "name") for t in owned) if b is not None]
    return fitting[-1] if fitting else None


def _by_shape(
    position: int, golden: Golden, capture: Capture, scopes: LayerScopes, found: dict[str, Boundary]
) -> Boundary | None:
    """The only unclaimed tensor with the layer's shape between its matched neighbours. A tensor whose scope
    names another layer is a step of that layer (tf2onnx's Conv that took a BatchNormalization's scale), unless
    its op only reshapes: tf2onnx names the reshapes it adds after a neighbouring op."""
    names = golden.layer_names
    before = [found[n].tensor.order for n in names[:position] if n in found]
    after = [found[n].tensor.order for n in names[position + 1 :] if n in found]
    low, high = (before[-1] if before else -1), (after[0] if after else float("inf"))
    used = {b.tensor.name for b in found.values()}
    kind = golden.layers[position].kind
    between = [
        t
        for t in capture.tensors
        if low < t.order < high and t.name not in used and _comparable(t, kind)
        and (scopes.owner(t.scope) in (None, position) or t.op in RESHAPING_OPS)
    ]  # fmt: skip
    fitting = [b for b in (_boundary(names[position], t, golden, "shape") for t in between) if b is not None]
    return fitting[0] if len(fitting) == 1 else None
