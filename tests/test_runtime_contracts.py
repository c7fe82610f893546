"""The runtime over contracts: where a contract comes from, probability outputs, the general input path,
dtypes read from ONNX models, and dispatch driven by the format table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from edgekit.contract import Contract, OutputKind, Preprocessing
from edgekit.errors import BackendError
from edgekit.formats import FORMATS, Format
from edgekit.runtime import load
from edgekit.runtime.backends import BACKENDS, OnnxRuntimeSession, backend_class
from edgekit.runtime.metadata import embed_tflite_metadata
from edgekit.runtime.quantization import dequantize, quantize

RGB_CONTRACT = Contract(
    input_shape=(8, 8, 3),
    class_names=("a", "b", "c", "d"),
    preprocessing=Preprocessing.standardizing([120.0, 110.0, 100.0], [60.0, 50.0, 40.0]),
    output_kind=OutputKind.PROBABILITIES,
)


def _with_contract(source: Path, target: Path, contract: Contract) -> Path:
    target.write_bytes(embed_tflite_metadata(source.read_bytes(), {"mode": "none", "contract": contract.to_dict()}))
    return target


@pytest.fixture(scope="module")
def rgb_softmax(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A tiny (8, 8, 3) -> softmax(4) Keras model and its float32 TFLite file without metadata."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path_factory.mktemp("rgb") / "rgb.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return model, path


def test_probability_model_is_not_softmaxed_twice(rgb_softmax, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keras_model, plain = rgb_softmax
    model = load(_with_contract(plain, tmp_path / "rgb.tflite", RGB_CONTRACT))
    raw = np.random.default_rng(0).integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    prediction = model.predict(raw)
    np.testing.assert_array_equal(prediction.probabilities, prediction.raw)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(prediction.raw, keras_model(RGB_CONTRACT.model_input(raw)).numpy(), atol=1e-5)
    np.testing.assert_allclose(prediction.logits, np.log(prediction.raw), atol=1e-6)
    assert prediction.top_k(1)[0][0][1] == "abcd"[int(prediction.labels[0])]
    assert model.describe()["contract"]["source"] == "embedded metadata: contract"


def test_quantized_probability_outputs_are_the_dequantized_raw_outputs(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    contract = Contract(input_shape=(28, 28), class_names=tuple("0123456789"), output_kind=OutputKind.PROBABILITIES)
    model = load(_with_contract(dense_artifacts["tflite-int8"].artifact, tmp_path / "p.tflite", contract))
    prediction = model.predict(np.full((3, 28, 28), 40, np.uint8))
    assert prediction.raw.dtype == np.int8
    np.testing.assert_array_equal(prediction.probabilities, dequantize(prediction.raw, *model.output_quant))


def test_rgb_per_channel_contract_takes_the_general_path(rgb_softmax, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = load(_with_contract(rgb_softmax[1], tmp_path / "rgb.tflite", RGB_CONTRACT))
    raw = np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)  # one sample
    np.testing.assert_array_equal(model.prepare_input(raw), RGB_CONTRACT.model_input(raw))
    np.testing.assert_array_equal(model.predict(raw).raw, model.run_model_inputs(RGB_CONTRACT.model_input(raw)).raw)


def test_per_pixel_standardized_contract_matches_contract_model_input(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    contract = Contract(
        input_shape=(28, 28),
        class_names=tuple("0123456789"),
        preprocessing=Preprocessing.standardizing(rng.uniform(0, 60, (28, 28)), rng.uniform(40, 90, (28, 28))),
    )
    model = load(_with_contract(dense_artifacts["tflite-int8"].artifact, tmp_path / "s.tflite", contract))
    raw = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    expected = quantize(contract.model_input(raw), *model.input_quant)
    np.testing.assert_array_equal(model.prepare_input(raw), expected)
    np.testing.assert_array_equal(model.predict(raw).raw, model.run_raw(expected))


def test_default_contract_is_read_off_the_model(rgb_softmax) -> None:  # type: ignore[no-untyped-def]
    model = load(rgb_softmax[1])  # no metadata, no sidecar
    assert model.metadata_source == "none" and model.describe()["contract"]["source"] == "read off the file"
    assert model.contract.input_shape == (8, 8, 3) and model.class_names == ("0", "1", "2", "3")
    assert model.contract.output_kind is OutputKind.PROBABILITIES  # its last op is a SOFTMAX: never softmaxed again
    assert model.contract.sources["output_kind"] == "final SOFTMAX op"
    assert model.contract.sources["preprocessing"].startswith("assumed")


def test_float_pixels_are_raw_values_unless_all_within_0_1(dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-int8"].artifact)
    images = tiny_dataset.test.images[:20]
    expected = model.predict(images).raw
    np.testing.assert_array_equal(model.predict(images.astype(np.float32)).raw, expected)  # raw 0..255 floats
    np.testing.assert_array_equal(model.predict(images.astype(np.int32)).raw, expected)
    assert model.predict(np.full((28, 28), 3.0, np.float32)).raw.shape == (1, 10)  # raw pixel 3 is valid


def _onnx_identity(path: Path, elem: int, contract: Contract) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
        "cast",
        [helper.make_tensor_value_info("x", elem, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"edgekit": json.dumps({"contract": contract.to_dict()})})
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(("elem", "dtype", "low"), [(2, np.uint8, 0.0), (3, np.int8, -128.0), (1, np.float32, 0.0)])
def test_onnx_input_dtype_is_read_from_the_model(tmp_path: Path, elem: int, dtype: type, low: float) -> None:
    contract = Contract(
        input_shape=(4,), class_names=tuple("wxyz"), preprocessing=Preprocessing.identity(), input_range=(low, 127.0)
    )
    model = load(_onnx_identity(tmp_path / "cast.onnx", elem, contract))
    assert model.input_dtype == np.dtype(dtype) and model.output_dtype == np.dtype(np.float32)
    assert model.input_shape == (-1, 4)
    values = np.array([[low, 1, 2, 127]], dtype=np.int16)
    np.testing.assert_array_equal(model.predict(values).raw, values.astype(np.float32))


def test_backend_registry_follows_the_format_table(monkeypatch: pytest.MonkeyPatch, dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    for spec in FORMATS.values():
        assert all(name in BACKENDS for name in spec.backends)
    assert backend_class(Format.TFLITE)[0].name == FORMATS[Format.TFLITE].backends[0]
    spec = FORMATS[Format.TFLITE]
    monkeypatch.setitem(FORMATS, Format.TFLITE, dataclasses.replace(spec, backends=("tflite_runtime",)))
    with pytest.raises(BackendError, match="no tflite_runtime interpreter") as info:
        load(dense_artifacts["tflite-int8"].artifact)  # the table, not the code, says what to try
    assert info.value.hint == spec.install_hint


def test_missing_onnxruntime_gives_the_table_install_hint(monkeypatch: pytest.MonkeyPatch, dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(OnnxRuntimeSession, "import_module", classmethod(lambda cls: None))
    with pytest.raises(BackendError) as info:
        load(dense_artifacts["onnx-float32"].artifact)
    assert info.value.hint == FORMATS[Format.ONNX].install_hint


def test_sidecar_contract_is_used_when_nothing_is_embedded(rgb_softmax, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact = tmp_path / "rgb.tflite"
    artifact.write_bytes(rgb_softmax[1].read_bytes())
    artifact.with_suffix(".json").write_text(json.dumps({"contract": RGB_CONTRACT.to_dict()}))
    model = load(artifact)
    assert model.metadata_source == "sidecar" and model.contract == RGB_CONTRACT
    assert model.describe()["contract"]["source"] == "sidecar metadata: contract"
    assert model.class_names == ("a", "b", "c", "d")


@pytest.mark.parametrize("name", ["tflite-int8", "tflite-float32", "onnx-float32"])
@pytest.mark.parametrize("batch", [1, 7, 256])
def test_uint8_fast_path_equals_the_general_path(name: str, batch: int, dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts[name].artifact)
    images = tiny_dataset.test.images[:batch]
    general = model.run_model_inputs(model.contract.model_input(images))
    np.testing.assert_array_equal(model.predict(images).raw, general.raw)
    np.testing.assert_array_equal(model.predict(images).raw, general.raw)  # again: reused buffers
    np.testing.assert_array_equal(model.predict(images[0]).raw, general.raw[:1])


def test_predict_takes_the_contract_flags(rgb_softmax, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A bare artifact (no metadata) told its contract on the command line gives Keras' probabilities."""
    from PIL import Image
    from typer.testing import CliRunner

    from edgekit.cli import app

    keras_model, plain = rgb_softmax
    pixels = np.random.default_rng(1).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "small.png")
    Image.fromarray(pixels).resize((16, 16), Image.Resampling.NEAREST).save(tmp_path / "big.png")
    flags = ["--mean", "120,110,100", "--std", "60,50,40", "--outputs", "probabilities", "--class-names", "a,b,c,d"]
    result = CliRunner().invoke(app, ["predict", str(plain), str(tmp_path / "small.png"), "--json", "-k", "4", *flags])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.splitlines()[0])
    expected = keras_model(RGB_CONTRACT.model_input(pixels[None])).numpy()[0]
    np.testing.assert_allclose(row["raw"], expected, atol=1e-5)  # no second softmax
    assert row["class_name"] == "abcd"[int(expected.argmax())]
    assert row["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
    big = CliRunner().invoke(app, ["predict", str(plain), str(tmp_path / "big.png"), "--json", *flags])
    assert big.exit_code == 0, big.output  # a 16x16 picture is resized to the model's 8x8 input
    assert len(json.loads(big.stdout)["raw"]) == 4
    bare = CliRunner().invoke(app, ["predict", str(plain), str(tmp_path / "small.png"), "--json"])
    assert json.loads(bare.stdout)["class_name"] in "0123"  # without the flags: default names and preprocessing


def test_predict_flag_that_contradicts_the_artifact_is_one_line(rgb_softmax, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from edgekit.cli import app

    artifact = _with_contract(rgb_softmax[1], tmp_path / "rgb.tflite", RGB_CONTRACT)
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 3), dtype=np.uint8))
    result = CliRunner().invoke(app, ["predict", str(artifact), str(tmp_path / "x.npy"), "--outputs", "logits"])
    assert result.exit_code == 2
    assert "--outputs logits contradicts the artifact's embedded metadata" in result.output
    assert "probabilities" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["predict", str(artifact), str(tmp_path / "x.npy"), "--class-names", "a,b"])
    assert result.exit_code == 2 and "2 class names declared for a model with 4 outputs" in result.output
