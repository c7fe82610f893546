"""Why a Keras layer has no tensor of its own in an artifact, in one line.

- fused: an op of a later layer carries the layer's scope (TFLite fuses Conv + BatchNorm + ReLU into one
  CONV_2D, onnxruntime's quantizer drops the ReLU after a Conv): the op outputs the later layer's values;
  a BatchNormalization there is folded into the weights of the convolution before it;
- the identity at inference (Dropout, an identity Activation, a pooling of a 1x1 map): its output is its
  input, and the converter dropped it;
- merged without a name: no op carries the layer's scope, but the op of the next matched layer reads the
  previous matched layer's tensor directly, so the layer was folded into that op (a Rescaling's constants
  or a BatchNormalization into its weights, a ZeroPadding2D into its padding);
- anything else: nothing in the artifact carries the layer's name, and no tensor between its matched
  neighbours has its shape alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgekit.convert.scopes import LayerScopes
from edgekit.explain.captured import Capture, CapturedTensor
from edgekit.explain.golden import Golden

FOLDED_INTO_WEIGHTS = frozenset({"BatchNormalization"})  # affine per channel: converters fold it into the conv
CONSTANT_AFFINE = frozenset({"Rescaling", "Normalization"})  # x * scale + offset with constants


def why_unmatched(
    position: int, golden: Golden, capture: Capture, scopes: LayerScopes, matched: Mapping[str, CapturedTensor]
) -> str:
    """The one-line reason the layer at ``position`` has no tensor (``matched``: the layers that have one)."""
    names = golden.layer_names
    layer, kind = golden.layers[position].name, golden.layers[position].kind
    carriers = [t for t in capture.tensors if position in scopes.layers_in(t.scope)]
    compared_as = {t.name: names.index(name) for name, t in matched.items()}
    later = [(compared_as[t.name], t) for t in carriers if compared_as.get(t.name, -1) > position]
    later = later or [(owner, t) for t in carriers if (owner := scopes.owner(t.scope)) is not None and owner > position]
    if later:
        owner, tensor = min(later, key=lambda pair: (pair[0], pair[1].order))
        return _fused(position, owner, tensor, golden, scopes)
    if position > 0 and np.array_equal(golden.values[layer], golden.values[names[position - 1]]):
        return "the identity at inference: its output is its input, and the converter dropped it"
    spanning = _spanning_op(position, names, capture, matched)
    if spanning is not None:
        target, op = spanning
        if kind in FOLDED_INTO_WEIGHTS | CONSTANT_AFFINE:
            return f"folded into the weights of {target}'s {op} op by the converter: no op of its own is left"
        return f"fused into {target}'s {op} op by the converter: the op outputs {target}'s values, never {layer}'s"
    return "no activation carries its name or its shape"


def _fused(position: int, owner: int, tensor: CapturedTensor, golden: Golden, scopes: LayerScopes) -> str:
    names, layers = golden.layer_names, golden.layers
    layer, target, op = names[position], names[owner], tensor.op or "one"
    if layers[position].kind in FOLDED_INTO_WEIGHTS:
        before = [i for i in scopes.layers_in(tensor.scope) if i < position]
        if before:
            return f"folded into {names[before[-1]]}'s weights by the converter: the {op} op outputs {target}'s values"
    if owner == position + 1 and layers[owner].kind in FOLDED_INTO_WEIGHTS:
        return f"{target} is folded into its weights by the converter: the {op} op computes {target}'s values"
    return f"fused into {target}'s {op} op by the converter: the op outputs {target}'s values, never {layer}'s"


def _spanning_op(
    position: int, names: Sequence[str], capture: Capture, matched: Mapping[str, CapturedTensor]
) -> tuple[str, str] | None:
    """The next matched layer and its op, when that op reads the previous matched layer's tensor directly."""
    before = next((name for name in reversed(names[:position]) if name in matched), None)
    after = next((name for name in names[position + 1 :] if name in matched), None)
    if before is None or after is None or not matched[after].op:
        return None
    return (after, matched[after].op) if matched[before].name in _reads(matched[after], capture) else None


def _reads(tensor: CapturedTensor, capture: Capture) -> set[str]:
    """The activations an op reads, looking through layout moves (tf2onnx's NHWC <-> NCHW)."""
    by_name = {t.name: t for t in capture.tensors}
    reads, pending = set(), list(tensor.reads)
    while pending:
        name = pending.pop()
        reads.add(name)
        source = by_name.get(name)
        if source is not None and source.moves_only:
            pending.extend(r for r in source.reads if r not in reads)
    return reads
