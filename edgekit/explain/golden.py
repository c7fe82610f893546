"""Golden capture: every layer's activation of the Keras reference on the debug set (a tap model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekit.convert.scopes import output_layer
from edgekit.errors import ModelError

INPUT_LAYER = "(input)"  # the row every comparison starts from: the model input as the artifact takes it
PREDICT_BATCH = 256


@dataclass(frozen=True)
class KerasLayer:
    """One layer whose output the tap model returns."""

    name: str
    kind: str  # the Keras class name: Dense, Conv2D, ...


@dataclass(frozen=True)
class Golden:
    """The debug set and the Keras reference's activation at every tapped layer, in model order."""

    inputs: np.ndarray  # float32 model inputs (N, *input_shape), through the contract
    layers: tuple[KerasLayer, ...]  # the first is INPUT_LAYER
    values: dict[str, np.ndarray]  # layer name -> (N, ...) float32
    skipped: tuple[tuple[str, str], ...]  # (layer, why it is not tapped)
    output_layer: str  # the layer whose output is the model's output

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]


def tap_layers(model: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """The layers a tap model can return (one output, called once) and the ones it cannot, with why."""
    tapped, skipped = [], []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError) as exc:
            skipped.append((layer.name, f"its output cannot be tapped ({str(exc).splitlines()[0][:80]})"))
            continue
        if isinstance(output, (list, tuple, dict)):
            skipped.append((layer.name, "it has several outputs"))
            continue
        tapped.append(layer)
    return tapped, skipped


def capture_keras(model: Any, inputs: np.ndarray) -> Golden:
    """Run a tap model (the reference's input, every tappable layer's output) on ``inputs``."""
    import keras

    if model is None:
        raise ModelError(
            "explain compares Keras layers and needs a Keras model (.keras, .h5 or a run folder)",
            "a SavedModel has no layers to tap: save the Keras model with model.save('model.keras')",
        )
    tapped, skipped = tap_layers(model)
    if not tapped:
        raise ModelError(f"{model.name} has no layer whose output can be tapped")
    tap = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in tapped])
    outputs = tap.predict(np.asarray(inputs, np.float32), batch_size=PREDICT_BATCH, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    values = {INPUT_LAYER: np.asarray(inputs, np.float32)}
    values |= {layer.name: np.asarray(out, np.float32) for layer, out in zip(tapped, outputs, strict=True)}
    final = output_layer(model) or tapped[-1].name
    layers = (KerasLayer(INPUT_LAYER, "Input"), *(KerasLayer(layer.name, type(layer).__name__) for layer in tapped))
    return Golden(np.asarray(inputs, np.float32), layers, values, tuple(skipped), final)
