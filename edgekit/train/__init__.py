"""Training: fit a registry model, keep it as the Keras reference with history, plots and manifest."""

from edgekit.train.fit import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
