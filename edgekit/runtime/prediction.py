"""What a model said about a batch: the interpreter's raw output, and what follows from it on demand."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from edgekit.contract import OutputKind, softmax
from edgekit.runtime.quantization import dequantize

_LOG_FLOOR = 1e-30  # log(0) of a probability would be -inf; clip first


class Prediction:
    """What a model said about a batch of samples.

    Only ``raw`` exists when predicting (a plain class: constructing it is on the hot path); everything
    else is derived on first use and kept, so a hot loop that reads only ``labels`` pays for nothing else.
    Probabilities are never softmaxed twice: a probability model's outputs are its probabilities.
    """

    def __init__(
        self,
        raw: np.ndarray,
        output_quant: tuple[float, int] = (0.0, 0),
        class_names: tuple[str, ...] = (),
        output_kind: OutputKind = OutputKind.LOGITS,
    ) -> None:
        self.raw = raw  # (N, C) exactly what the interpreter returned (int8 for full-integer artifacts)
        self.output_quant = output_quant  # (scale, zero point) of integer outputs
        self.class_names = class_names
        self.output_kind = output_kind

    def __repr__(self) -> str:
        return f"Prediction(raw={self.raw.dtype}{list(self.raw.shape)}, output_kind={self.output_kind.value})"

    @functools.cached_property
    def outputs(self) -> np.ndarray:
        """(N, C) float32 outputs, dequantized for integer artifacts."""
        if np.issubdtype(self.raw.dtype, np.integer):
            return dequantize(self.raw, *self.output_quant)
        return self.raw.astype(np.float32, copy=False)

    @functools.cached_property
    def probabilities(self) -> np.ndarray:
        """(N, C) float32 class probabilities: the outputs of a probability model, softmax of logits."""
        if self.output_kind is OutputKind.PROBABILITIES:
            return self.outputs
        return softmax(self.outputs).astype(np.float32, copy=False)

    @functools.cached_property
    def logits(self) -> np.ndarray:
        """(N, C) float32 logits: the outputs of a logits model, log(probabilities) of a probability model."""
        if self.output_kind is OutputKind.PROBABILITIES:
            return np.log(np.clip(self.outputs, _LOG_FLOOR, 1.0)).astype(np.float32)
        return self.outputs

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """(N,) arg-max class per sample (dequantizing is monotonic, so the raw argmax is the same)."""
        return self.raw.argmax(axis=1)

    def top_k(self, k: int) -> list[list[tuple[int, str, float]]]:
        """Per sample, the k most likely (class index, class name, probability)."""
        probabilities = self.probabilities
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [[(int(c), self._name(int(c)), float(probabilities[i, c])) for c in row] for i, row in enumerate(order)]

    def _name(self, index: int) -> str:
        return self.class_names[index] if index < len(self.class_names) else str(index)

    @staticmethod
    def of_model(
        output_quant: tuple[float, int], class_names: tuple[str, ...], output_kind: OutputKind
    ) -> Callable[[np.ndarray], Prediction]:
        """The Prediction class of one model: what does not change between calls is a class attribute, so
        making a result on the hot path stores only ``raw``."""

        class ModelPrediction(Prediction):
            def __init__(self, raw: np.ndarray) -> None:
                self.raw = raw

        ModelPrediction.output_quant = output_quant
        ModelPrediction.class_names = class_names
        ModelPrediction.output_kind = output_kind
        return ModelPrediction
