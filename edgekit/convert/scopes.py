"""Which Keras layer a converted tensor or node belongs to, read from the name scopes it carries.

TensorFlow names every op of a layer call ``model_1/LAYER_N/Op``: the layer's name, made unique by a
``_N`` suffix, so layer ``dense`` can appear as ``dense_1`` and layer ``dense_1`` as ``dense_1_2``. TFLite
joins the names of fused ops with ``;`` (``.../dense_1/MatMul;.../re_lu_1/Relu``), tf2onnx keeps the op
names as node names, and onnxruntime's quantizer appends suffixes to the last part. A scope segment is
given to the first layer, in model order, that it can spell and that has none yet; segments are read in
execution order, so ``dense_1`` goes to ``dense`` before ``dense_1_2`` goes to ``dense_1``.

Used by the fallback (which nodes to keep in float) and by ``edgekit explain`` (which tensor is a layer's
output). Imports nothing heavy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def scope_segments(name: str) -> list[str]:
    """The name-scope segments of a tensor or node name: every part but the op's own name."""
    return [segment for piece in name.split(";") for segment in piece.split("/")[:-1]]


class LayerScopes:
    """Layer names -> the scope segments that spell them in one artifact (see the module docstring)."""

    def __init__(self, layer_names: Sequence[str], names_in_order: Iterable[str]) -> None:
        self.layer_names = tuple(layer_names)
        self._segment_layer: dict[str, int | None] = {}
        assigned: set[int] = set()
        for name in names_in_order:
            for segment in scope_segments(name):
                if segment in self._segment_layer:
                    continue
                candidates = [i for i in range(len(self.layer_names)) if i not in assigned and self._spells(i, segment)]
                self._segment_layer[segment] = candidates[0] if candidates else None
                if candidates:
                    assigned.add(candidates[0])

    def _spells(self, index: int, segment: str) -> bool:
        layer = self.layer_names[index]
        return segment == layer or re.fullmatch(re.escape(layer) + r"_\d+", segment) is not None

    def layers_in(self, name: str) -> list[int]:
        """Indices of the layers whose scopes a name carries, in model order."""
        found = {self._segment_layer.get(s) for s in scope_segments(name)}
        return sorted(i for i in found if i is not None)

    def owner(self, name: str) -> int | None:
        """The layer a tensor is the output of: the last layer (in model order) among those it names.

        A fused op (a Dense and the ReLU after it) carries both scopes; its output is the later layer's.
        """
        layers = self.layers_in(name)
        return layers[-1] if layers else None

    def names_of(self, layer: str, names: Iterable[str]) -> list[str]:
        """The names (nodes or tensors) that belong, at least in part, to ``layer``."""
        index = self.layer_names.index(layer)
        return [n for n in names if index in self.layers_in(n)]


def output_layer(model: object) -> str | None:
    """The name of the Keras layer whose output is the model's output (its ops may carry no scope at all:
    a converter names the model's output tensor after the graph, not the layer)."""
    final = getattr(model, "outputs", [None])[0]
    for layer in getattr(model, "layers", []):
        try:
            if layer.output is final:
                return str(layer.name)
        except (AttributeError, ValueError):  # a layer without a single output of its own
            continue
    return None
