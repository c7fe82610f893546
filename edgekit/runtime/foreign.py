"""The contract of an artifact edgekit did not make, read off the file; every part says where it came from.

- input shape and layout: the input tensor. (N, H, W, C) with C = 1 or 3 is NHWC, (N, C, H, W) is NCHW
  (``--layout`` decides when both read), (N, H, W) is a grayscale image, (N, 784) a flat 28x28 image, any
  other (N, D) a feature vector;
- preprocessing: the file's TFLite Model Metadata (NormalizationOptions) when it has one; an integer input
  without quantization (scale 0) takes raw integer values; otherwise pixels / 255 is assumed, and says so;
- outputs: probabilities when a softmax produces the output (a final SOFTMAX op or Softmax node, looked
  through the quantize / reshape steps after it), else logits;
- class names: the TFLite Model Metadata's label file when its length fits, else the class indices.
"""

from __future__ import annotations

import math

import numpy as np

from edgekit.contract import Contract, Layout, OutputKind, Preprocessing
from edgekit.errors import ArtifactError, ModelError, UsageError
from edgekit.runtime.graph import GraphFacts
from edgekit.runtime.tensors import TensorInfo

FLAT_MNIST = 784
ASSUMED_PIXELS = "assumed: pixels / 255"


def _is_channels(d: int) -> bool:
    return d in (1, 3)


def infer_layout(item: tuple[int, ...], declared: Layout | None) -> tuple[tuple[int, ...], Layout, str]:
    """(contract input shape, layout, where it came from) for one sample of the input tensor."""
    if any(d < 1 for d in item):
        raise ArtifactError(
            f"the input tensor's shape {item} has dynamic dimensions besides the batch",
            "edgekit needs a fixed sample shape; re-export the model with one",
        )
    if len(item) == 1 and item[0] == FLAT_MNIST and declared is None:
        return (28, 28), Layout.CHANNELS_LAST, "input tensor: a flat 784, read as 28x28 pixels"
    if len(item) != 3:
        if declared is Layout.CHANNELS_FIRST:
            raise UsageError(f"--layout nchw needs a (C, H, W) input; this model takes {item}")
        return item, Layout.CHANNELS_LAST, "input tensor"
    last, first = _is_channels(item[2]) and min(item[:2]) > 3, _is_channels(item[0]) and min(item[1:]) > 3
    if declared is not None:
        fits = first if declared is Layout.CHANNELS_FIRST else last
        if not fits:
            name = "nchw" if declared is Layout.CHANNELS_FIRST else "nhwc"
            raise UsageError(f"--layout {name} does not fit the model's input {item} (1 or 3 channels)")
        return item, declared, "input tensor; layout declared"
    if last:
        return item, Layout.CHANNELS_LAST, "input tensor"
    if first:
        return item, Layout.CHANNELS_FIRST, "input tensor"
    raise ArtifactError(
        f"the input tensor's sample shape {item} has no channel axis of 1 or 3",
        "edgekit runs (H, W), (H, W, C) or (C, H, W) images with 1 or 3 channels, or (D,) features",
    )


def _preprocessing(tensor: TensorInfo, facts: GraphFacts | None, channels: int) -> tuple[Preprocessing, str, bool]:
    """(preprocessing, source, whether the file itself says so)."""
    integer_raw = np.issubdtype(tensor.dtype, np.integer) and tensor.scale == 0
    meta = facts.standard_metadata if facts else None
    if integer_raw:
        return Preprocessing.identity(), "input tensor: integer, not quantized", True
    if meta is not None and meta.mean is not None and meta.std is not None:
        mean, std = _per_channel(meta.mean, channels), _per_channel(meta.std, channels)
        if mean is not None and std is not None and all(s > 0 and math.isfinite(s) for s in np.ravel(std)):
            return Preprocessing.standardizing(mean, std), "TFLite Model Metadata (NormalizationOptions)", True
    return Preprocessing.scaling(1.0 / 255.0), ASSUMED_PIXELS, False


def _per_channel(values: tuple[float, ...], channels: int) -> float | list[float] | None:
    if len(values) == 1:
        return values[0]
    return list(values) if len(values) == channels else None


def _class_names(outputs: int, facts: GraphFacts | None) -> tuple[tuple[str, ...], str]:
    meta = facts.standard_metadata if facts else None
    if meta is not None and meta.labels and len(meta.labels) == outputs:
        return meta.labels, f"TFLite Model Metadata ({meta.label_file})"
    return tuple(str(i) for i in range(outputs)), "class indices"


def inferred_contract(
    inputs: TensorInfo, outputs: TensorInfo, facts: GraphFacts | None, declared_layout: Layout | None
) -> tuple[Contract, bool, bool]:
    """(contract, preprocessing shown by the file, output kind shown by the file) for an unlabelled artifact."""
    classes = outputs.shape[-1] if len(outputs.shape) >= 1 else -1
    if len(outputs.shape) != 2 or classes < 1:
        raise ArtifactError(
            f"the output tensor's shape {outputs.shape} is not one score per class",
            "a classifier returns (N, classes)",
        )
    shape, layout, shape_source = infer_layout(tuple(inputs.shape[1:]), declared_layout)
    channels = shape[0] if layout is Layout.CHANNELS_FIRST else (shape[2] if len(shape) == 3 else 1)
    pre, pre_source, pre_shown = _preprocessing(inputs, facts, channels)
    softmax = facts is not None and facts.ends_in_softmax
    names, names_source = _class_names(classes, facts)
    try:
        contract = Contract(
            input_shape=shape,
            class_names=names,
            preprocessing=pre,
            output_kind=OutputKind.PROBABILITIES if softmax else OutputKind.LOGITS,
            layout=layout,
            sources={
                "input_shape": shape_source,
                "preprocessing": pre_source,
                "output_kind": f"final {facts.output_producer} op"
                if softmax and facts
                else "assumed: no final softmax",
                "class_names": names_source,
            },
        )
    except (ModelError, UsageError) as exc:
        raise ArtifactError(exc.message, exc.hint) from None
    return contract, pre_shown, softmax
