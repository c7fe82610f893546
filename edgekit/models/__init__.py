"""Model architectures and their registry: a new model is one entry in ``MODELS``.

Builders import Keras inside themselves, so listing the registry costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from edgekit.errors import ModelError

NUM_CLASSES = 10


@dataclass(frozen=True)
class ModelSpec:
    """A trainable architecture and the training defaults that suit it."""

    name: str
    description: str
    build: Callable[[int, tuple[int, ...], int], Any]  # (seed, input shape, classes) -> uncompiled model, logits out
    default_epochs: int
    learning_rate: float
    images_only: bool = False  # needs (H, W) or (H, W, C) input


def _build_dense(seed: int, input_shape: tuple[int, ...] = (28, 28), classes: int = NUM_CLASSES) -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="dense_128"),
            keras.layers.Dense(classes, name="logits"),
        ],
        name="dense",
    )


def _build_cnn(seed: int, input_shape: tuple[int, ...] = (28, 28), classes: int = NUM_CLASSES) -> Any:
    import keras

    channel = [keras.layers.Reshape((*input_shape, 1), name="add_channel")] if len(input_shape) == 2 else []
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            *channel,
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_32"),
            keras.layers.MaxPooling2D(name="pool_1"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_64"),
            keras.layers.MaxPooling2D(name="pool_2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="dense_128"),
            keras.layers.Dropout(0.5, seed=seed, name="dropout"),
            keras.layers.Dense(classes, name="logits"),
        ],
        name="cnn",
    )


MODELS: dict[str, ModelSpec] = {
    "dense": ModelSpec("dense", "Flatten, Dense 128 ReLU, Dense 10 logits", _build_dense, 40, 1e-3),
    "cnn": ModelSpec(
        "cnn",
        "Conv 32 3x3, MaxPool, Conv 64 3x3, MaxPool, Dense 128, Dropout 0.5, Dense 10 logits",
        _build_cnn,
        40,
        1e-3,
        images_only=True,
    ),
}

# The Typer option type: choices come from the registry, so a new model needs no CLI change.
ModelName = Enum("ModelName", {name.upper(): name for name in MODELS}, type=str)  # type: ignore[misc]


def get_model_spec(name: str) -> ModelSpec:
    """Look a model up by name; an unknown name lists the choices."""
    key = name.value if isinstance(name, Enum) else name
    try:
        return MODELS[key]
    except KeyError as exc:
        raise ModelError(f"unknown model {key!r}", f"choose one of: {', '.join(MODELS)}") from exc


def build_model(name: str, seed: int = 0) -> Any:
    """Build an uncompiled Keras model by registry name."""
    return get_model_spec(name).build(seed, (28, 28), NUM_CLASSES)
