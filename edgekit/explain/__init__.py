"""Per-layer comparison across formats: which Keras layer caused an artifact's drift.

    from edgekit.explain import explain
    result = explain("edgekit-runs/cnn-mnist")          # every artifact of the run
    result.explanations[0].worst                         # the layer adding the most error

``golden`` taps every Keras layer, ``capture`` reads every activation of a TFLite or ONNX artifact,
``layermap`` matches them, ``metrics`` compares them, ``artifact`` ranks the layers, ``report`` and ``plot``
write explain.md, explain.json, the PNG and the Model Explorer overlays. Heavy libraries load lazily.
"""

from edgekit.explain.artifact import ArtifactExplanation, LayerRow, explain_artifact
from edgekit.explain.core import DEFAULT_SAMPLES, ExplainConfig, ExplainResult, explain

__all__ = [
    "DEFAULT_SAMPLES",
    "ArtifactExplanation",
    "ExplainConfig",
    "ExplainResult",
    "LayerRow",
    "explain",
    "explain_artifact",
]
