"""Small versions of the architectures people ship, trained seconds on colourised 32x32 digits: every artifact
edgekit writes loads in its own runtime, BatchNorm is folded, depthwise weights are per channel, and an int8
that misses its band names a layer of the model. The full zoo is benchmarks/zoo.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgekit.formats import Quantization

# width, epochs, learning rate: small enough to train in seconds, trained enough that float answers mean
# something (an untrained model's near-ties flip even in float16)
SMALL = {
    "resnet_style": (1.0, 4, 1e-3),
    "efficientnet_style": (0.5, 4, 1e-3),
    "mobilenet_v3_small": (0.75, 4, 1e-3),
    "mobilenet_v2": (0.35, 12, 3e-3),
}
# MobileNetV2 learns slowly at 32x32 (its last blocks see 1x1): 12 epochs (at 6 its float16 flipped 2 of 300)
SLOW = {"mobilenet_v2"}


@pytest.fixture(scope="session")
def zoo_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray, Path]:
    from edgekit.models import zoo_training as zt

    images, labels = zt.mnist_sample()
    images, labels = zt.rgb32(images[:1300]), labels[:1300]
    path = tmp_path_factory.mktemp("zoo-data") / "digits.npz"
    zt.save_npz(path, images, labels, test=300)
    return images[:-300], labels[:-300], path


@pytest.fixture(
    scope="session", params=[pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(SMALL)]
)
def zoo_model(request: pytest.FixtureRequest, zoo_data: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(name, Keras model, its .keras path, conversion results by name): the seven artifacts of --quantize all
    (the steps of --allow-float-fallback are tests/test_float_fallback.py's)."""
    from edgekit.convert import ConvertOptions, DataSources
    from edgekit.formats import expand
    from edgekit.models import zoo_training as zt
    from edgekit.models.zoo import ZOO
    from edgekit.workflows import convert_all  # with the int8 review: the verdict on a miss

    name, (width, epochs, learning_rate) = request.param, SMALL[request.param]
    images, labels, data = zoo_data
    model = ZOO[name]((32, 32, 3), 10, width=width)
    zt.fit(model, images, labels, epochs, learning_rate)
    folder = tmp_path_factory.mktemp(name)
    model.save(folder / "model.keras")
    options = ConvertOptions(out_dir=folder / "artifacts", parity_samples=300, calibration_samples=200)
    results = convert_all(
        folder / "model.keras", expand(["all"], ["all"]), options, sources=DataSources(data=str(data))
    )
    return name, model, folder / "model.keras", {_key(r): r for r in results}


def _key(result: Any) -> str:
    return str(result.name)


def _tflite_ops(path: Path) -> list[dict[str, Any]]:
    from edgekit.convert.tflite import op_details

    return op_details(path.read_bytes())


def test_every_artifact_loads_and_runs_in_edgekits_runtime_and_floats_agree(zoo_model: Any) -> None:
    from edgekit.runtime import load

    name, _, _, results = zoo_model
    assert len(results) == 7, sorted(results)
    for key, result in results.items():
        model = load(result.artifact)  # MobileNetV3Small's onnx-int8 did not initialise in onnxruntime
        assert model.predict(np.zeros((2, 32, 32, 3), np.uint8)).labels.shape == (2,), key
    assert results["tflite-float32"].parity["agreement"] == 1.0
    assert results["onnx-float32"].parity["agreement"] == 1.0
    assert results["tflite-float16"].parity["agreement"] >= 0.995, name


def test_batchnorm_is_folded_into_the_convolutions_in_both_formats(zoo_model: Any) -> None:
    import keras
    import onnx

    name, model, _, results = zoo_model
    adds = sum(isinstance(layer, keras.layers.Add) for layer in model.layers)
    batchnorms = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert batchnorms >= 3
    ops = [op["op"] for op in _tflite_ops(results["tflite-float32"].artifact)]
    if name in ("resnet_style", "efficientnet_style", "mobilenet_v2"):  # no hard-swish: every ADD is a residual
        assert ops.count("ADD") == adds, (name, ops.count("ADD"), adds)
    integer_ops = [op["op"] for op in _tflite_ops(results["tflite-int8"].artifact)]
    assert integer_ops.count("ADD") == ops.count("ADD") and integer_ops.count("MUL") == ops.count("MUL")
    # ONNX: tf2onnx folds BN into a biased conv but leaves it as Mul+Add after a bias-free depthwise conv
    # (onnxruntime folds those when it loads the float model); the int8 graph must have them folded before
    # its weights are quantized, or the BN scale would be an int8 Mul of its own
    for artifact in ("onnx-int8",):
        graph = onnx.load(str(results[artifact].artifact)).graph
        assert not [n for n in graph.node if n.op_type == "BatchNormalization"]
        bn_ops = [n.name for n in graph.node if n.op_type in ("Mul", "Add") and "batchnorm" in n.name]
        assert bn_ops == [], bn_ops[:3]


def test_depthwise_weights_are_quantized_per_channel_in_both_formats(zoo_model: Any) -> None:
    import onnx
    from ai_edge_litert import schema_py_generated as schema

    name, _, _, results = zoo_model
    tflite = results["tflite-int8"]
    content = tflite.artifact.read_bytes()
    graph = schema.Model.GetRootAs(content, 0).Subgraphs(0)
    depthwise = [op for op in _tflite_ops(tflite.artifact) if op["op"] == "DEPTHWISE_CONV_2D"]
    assert depthwise, name
    model = schema.Model.GetRootAs(content, 0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != schema.BuiltinOperator.DEPTHWISE_CONV_2D:
            continue
        weights = graph.Tensors(int(op.InputsAsNumpy()[1]))
        if weights.Type() == schema.TensorType.INT8:
            assert weights.Quantization().ScaleLength() == weights.ShapeAsNumpy()[-1] > 1
    proto = onnx.load(str(results["onnx-int8"].artifact)).graph
    scales = {t.name: t for t in proto.initializer}
    grouped = [n for n in proto.node if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)]
    assert grouped, name
    producers = {o: n for n in proto.node for o in n.output}
    for conv in grouped:
        dequantize = producers.get(conv.input[1])
        if dequantize is not None and dequantize.op_type == "DequantizeLinear":
            assert list(scales[dequantize.input[1]].dims) == [scales[dequantize.input[0]].dims[0]]


def test_an_int8_outside_its_band_names_a_layer_of_the_model_and_the_next_option(zoo_model: Any) -> None:
    _, model, _, results = zoo_model
    layers = {layer.name for layer in model.layers}
    for key in ("tflite-int8", "onnx-int8"):
        result = results[key]
        assert result.mode is Quantization.INT8 and result.fallback == ()
        if result.parity_failures:  # explain's worst layer, a layer of this model, and the option to try
            assert result.verdict and any(f"layer {layer} (" in result.verdict for layer in layers), result.verdict
            assert "--allow-float-fallback tries --calibration-method percentile or entropy" in result.verdict
        else:
            assert result.verdict is None
