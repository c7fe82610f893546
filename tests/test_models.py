from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import ModelError
from edgekit.models import MODELS, ModelName, build_model, get_model_spec


@pytest.mark.parametrize(
    ("name", "params"), [("dense", 784 * 128 + 128 + 128 * 10 + 10), ("cnn", 320 + 18496 + 3136 * 128 + 128 + 1290)]
)
def test_models_take_28x28_and_give_10_logits(name: str, params: int) -> None:
    model = build_model(name, seed=0)
    assert tuple(model.input_shape) == (None, 28, 28)
    assert tuple(model.output_shape) == (None, 10)
    assert model.count_params() == params
    logits = np.asarray(model(np.zeros((2, 28, 28), np.float32)))
    assert logits.shape == (2, 10) and np.isfinite(logits).all()
    assert model.layers[-1].get_config()["activation"] == "linear"  # logits, not softmax


def test_cnn_layers_match_the_spec() -> None:
    model = build_model("cnn")
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [(32, (3, 3), "same"), (64, (3, 3), "same")]
    dropout = [layer for layer in model.layers if layer.__class__.__name__ == "Dropout"]
    assert len(dropout) == 1 and dropout[0].rate == 0.5


def test_registry_and_enum_agree() -> None:
    assert [m.value for m in ModelName] == list(MODELS)
    with pytest.raises(ModelError, match="unknown model") as info:
        get_model_spec("resnet")
    assert "dense" in info.value.hint and "cnn" in info.value.hint
