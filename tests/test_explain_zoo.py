"""edgekit explain on the architectures people ship (edgekit/models/zoo.py, small widths, untrained): every
Keras layer of every artifact is matched to the tensor that is its output, or named with why not.

What the converters do to these graphs, and what explain must see through: TFLite fuses Conv + BatchNorm
(+ ReLU / ReLU6) into one CONV_2D or DEPTHWISE_CONV_2D and folds a Rescaling into the first conv's weights;
tf2onnx folds the BatchNorm of a regular conv into it (a node called ``Conv__N``: only its weights keep the
layer names) and runs NCHW, so an (N, 16, 16, 16) tensor may be either layout; onnxruntime's quantizer drops
the ReLU after a Conv and folds the depthwise BatchNorm into it without a trace of its name.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data import Dataset, Split
from edgekit.formats import Format, Quantization

# zoo name -> width (small enough to convert in seconds; resnet_style at width 1 keeps a 16x16x16 tensor) and the
# artifacts made: all seven for the cheapest model, one TFLite and one ONNX (float32 or int8) for the others.
# mobilenet_v3_small's onnx-int8 is the one onnxruntime could not initialise before issue 19's fix.
TFLITE_F32, TFLITE_INT8 = (Format.TFLITE, Quantization.NONE), (Format.TFLITE, Quantization.INT8)
ONNX_F32, ONNX_INT8 = (Format.ONNX, Quantization.NONE), (Format.ONNX, Quantization.INT8)
ALL_SEVEN = [
    TFLITE_F32, (Format.TFLITE, Quantization.FLOAT16), (Format.TFLITE, Quantization.DYNAMIC), TFLITE_INT8,
    ONNX_F32, (Format.ONNX, Quantization.DYNAMIC), ONNX_INT8,
]  # fmt: skip
ZOO_MODELS = {
    "resnet_style": (1.0, ALL_SEVEN),
    "mobilenet_v2": (0.35, [TFLITE_F32, ONNX_INT8]),
    "mobilenet_v3_small": (0.75, [TFLITE_INT8, ONNX_F32, ONNX_INT8]),
    "efficientnet_style": (0.5, [TFLITE_INT8, ONNX_F32]),
}
GENERIC_REASON = "no activation carries its name or its shape"


def _rgb32(split: Split, per_class: int) -> Split:
    """MNIST digits padded to 32x32 and repeated over three channels, as a user feeds an RGB classifier."""
    picked = np.sort(np.concatenate([np.flatnonzero(split.labels == c)[:per_class] for c in range(10)]))
    padded = np.pad(split.images[picked], ((0, 0), (2, 2), (2, 2)))
    return Split(np.repeat(padded[..., None], 3, axis=-1), split.labels[picked])


@pytest.fixture(scope="session")
def rgb_digits(sample_dataset: Dataset) -> Dataset:
    from dataclasses import replace

    train, validation, test = (
        _rgb32(s, n) for s, n in ((sample_dataset.train, 10), (sample_dataset.validation, 2), (sample_dataset.test, 8))
    )
    return replace(sample_dataset, is_full=False, train=train, validation=validation, test=test)


@pytest.fixture(scope="session", params=list(ZOO_MODELS))
def zoo_explained(request, rgb_digits, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One zoo model, converted (the artifacts ZOO_MODELS names) and explained on 32 held-out images."""
    from edgekit.convert import ConvertOptions, convert_all
    from edgekit.data.sources import DataSources
    from edgekit.explain import ExplainConfig, explain
    from edgekit.models.zoo import ZOO

    name = request.param
    folder = tmp_path_factory.mktemp(f"zoo-{name}")
    width, pairs = ZOO_MODELS[name]
    model = _with_trained_batchnorms(ZOO[name]((32, 32, 3), 10, width=width))
    model.save(folder / "model.keras")
    sources = DataSources(preloaded=rgb_digits)
    options = ConvertOptions(out_dir=folder / "artifacts", measure_parity=False, calibration_samples=32)
    results = convert_all(folder / "model.keras", pairs, options, sources=sources)
    config = ExplainConfig(
        artifacts=tuple(str(r.artifact) for r in results), samples=32, out_dir=folder / "explain", plots=False
    )
    return name, explain(folder / "model.keras", config, sources=sources)


def _with_trained_batchnorms(model):  # type: ignore[no-untyped-def]
    """Give every BatchNormalization the scale, offset and statistics training leaves (untrained ones are
    x / sqrt(1 + eps): a converter folds them into names that no trained model shows)."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            shape = layer.get_weights()[0].shape
            gamma, beta = rng.uniform(0.5, 1.5, shape), rng.normal(0, 0.2, shape)
            mean, variance = rng.normal(0, 0.2, shape), rng.uniform(0.5, 1.5, shape)
            layer.set_weights([w.astype(np.float32) for w in (gamma, beta, mean, variance)])
    return model


def _by_name(result):  # type: ignore[no-untyped-def]
    return {e.name: e for e in result.explanations}


def test_every_layer_is_matched_or_named_with_a_specific_reason(zoo_explained) -> None:  # type: ignore[no-untyped-def]
    name, result = zoo_explained
    layers = [layer for layer, _ in result.layers]
    assert result.skipped_layers == ()
    assert len(result.explanations) == len(ZOO_MODELS[name][1])
    for e in result.explanations:
        matched, unmatched = [r.layer for r in e.rows], [u.layer for u in e.unmatched]
        assert sorted(matched + unmatched) == sorted(layers), e.name  # each layer once, in one list or the other
        assert [u for u in e.unmatched if u.reason == GENERIC_REASON] == [], e.name
        assert all(u.reason and "\n" not in u.reason for u in e.unmatched), e.name


def test_float32_matches_are_the_layers_own_outputs(zoo_explained) -> None:  # type: ignore[no-untyped-def]
    """A tensor mapped to the wrong layer (or read in the wrong layout) is far below 80 dB in a float32 artifact."""
    _, result = zoo_explained
    floats = [e for e in result.explanations if e.name.endswith("float32")]
    assert floats
    for e in floats:
        rows, artifact = e.rows, e.name
        assert len(rows) > 10, artifact
        low = [(r.layer, round(r.sqnr_db, 1)) for r in rows if r.sqnr_db < 80]
        assert low == [], artifact


def test_every_layer_kind_the_zoo_uses_is_compared(zoo_explained) -> None:  # type: ignore[no-untyped-def]
    name, result = zoo_explained
    kinds = {
        "resnet_style": {"BatchNormalization", "Activation", "ReLU", "GlobalAveragePooling2D", "Dense"},
        "mobilenet_v2": {"BatchNormalization", "ReLU", "Add", "GlobalAveragePooling2D", "Dense"},
        "mobilenet_v3_small": {"Rescaling", "Activation", "ReLU", "Multiply", "Add", "GlobalAveragePooling2D"},
        "efficientnet_style": {"BatchNormalization", "Activation", "Conv2D", "Multiply", "Add", "Dense"},
    }[name]
    for e in result.explanations:
        assert kinds <= {r.kind for r in e.rows}, (e.name, kinds - {r.kind for r in e.rows})


@pytest.mark.parametrize("zoo_explained", ["resnet_style"], indirect=True)  # its layer names are zoo.py's own
def test_fused_conv_batchnorm_relu_and_folded_rescaling_are_named(zoo_explained) -> None:  # type: ignore[no-untyped-def]
    _, result = zoo_explained
    by_name = _by_name(result)
    for artifact in ("tflite-float32", "tflite-int8"):
        e = by_name[artifact]
        reasons = {u.layer: u.reason for u in e.unmatched}
        row = next(r for r in e.rows if r.layer == "stem_relu")  # Conv + BN + ReLU: one CONV_2D, stem_relu's output
        assert all(scope in row.tensor for scope in ("stem_conv", "stem_bn", "stem_relu")), artifact
        assert reasons["stem_conv"].startswith("fused into stem_relu's CONV_2D op"), artifact
        assert reasons["stem_bn"].startswith("folded into stem_conv's weights"), artifact
        assert reasons["res0_dw"].startswith("res0_dw_bn is folded into its weights"), artifact
        assert "DEPTHWISE_CONV_2D" in reasons["res0_dw"], artifact
        assert reasons["res0_add"].startswith("fused into res0_relu's ADD op"), artifact
        assert reasons["rescale"].startswith("folded into the weights of stem_relu's CONV_2D op"), artifact
    onnx = by_name["onnx-float32"]
    stem_bn = next(r for r in onnx.rows if r.layer == "stem_bn")  # tf2onnx's Conv__N: named by its weights
    assert stem_bn.tensor.startswith("Conv__") and stem_bn.match == "name"
    assert {u.layer: u.reason for u in onnx.unmatched}["stem_conv"].startswith("stem_bn is folded into its weights")
    # NCHW (N, 16, 16, 16) has the NHWC shape: read in its tracked layout, not its shape's
    dw_bn = next(r for r in onnx.rows if r.layer == "res0_dw_bn")
    assert dw_bn.shape == (16, 16, 16) and dw_bn.sqnr_db > 80
    int8 = {u.layer: u.reason for u in by_name["onnx-int8"].unmatched}  # the quantizer drops the ReLU
    assert int8["stem_conv"].startswith("fused into stem_relu's Conv op")


@pytest.mark.parametrize("zoo_explained", ["mobilenet_v3_small"], indirect=True)
def test_hard_swish_squeeze_excite_and_dropout_in_mobilenet_v3(zoo_explained) -> None:  # type: ignore[no-untyped-def]
    _, result = zoo_explained
    # Keras numbers auto-named layers per session ("activation", "activation_5"): find them by kind
    first_hard_swish = next(layer for layer, kind in result.layers if kind == "Activation")
    dropout = next(layer for layer, kind in result.layers if kind == "Dropout")
    for e in result.explanations:
        rows = {r.layer: r for r in e.rows}
        assert first_hard_swish in rows and rows[first_hard_swish].kind == "Activation", e.name
        assert "expanded_conv_squeeze_excite_mul" in rows, e.name
        assert {u.layer: u.reason for u in e.unmatched}[dropout].startswith("the identity at inference"), e.name
    int8 = _by_name(result)["tflite-int8"]
    assert int8.worst is not None and int8.worst.sqnr_db < 60
    hard_swish = next(r for r in int8.rows if r.layer == first_hard_swish)
    assert 10 < hard_swish.sqnr_db < 60 and hard_swish.scale > 0  # int8, compared at its own tensor


def test_an_untrained_batchnorm_folded_into_its_conv_is_compared_at_the_conv(rgb_digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """BatchNorm with offset 0 (untrained): TFLite names the fused tensor after the conv alone, yet it is the
    BatchNorm's output; the conv is listed as folded, and the tensor is compared with the BatchNorm."""
    import keras

    from edgekit.convert import ConvertOptions, convert_all
    from edgekit.data.sources import DataSources
    from edgekit.explain import ExplainConfig, explain

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    keras.Model(inputs, keras.layers.Dense(10, name="logits")(x)).save(tmp_path / "model.keras")
    sources = DataSources(preloaded=rgb_digits)
    options = ConvertOptions(out_dir=tmp_path / "artifacts", measure_parity=False)
    [converted] = convert_all(tmp_path / "model.keras", [TFLITE_F32], options, sources=sources)
    config = ExplainConfig(artifacts=(str(converted.artifact),), samples=16, out_dir=tmp_path / "explain", plots=False)
    [e] = explain(tmp_path / "model.keras", config, sources=sources).explanations
    bn = next(r for r in e.rows if r.layer == "bn")
    assert "conv" in bn.tensor and "batchnorm" not in bn.tensor and bn.sqnr_db > 100
    assert {u.layer: u.reason for u in e.unmatched}["conv"].startswith("bn is folded into its weights")
