from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.convert import ConvertOptions, convert, convert_all, raise_for_parity
from edgekit.convert.parity import band_failures, parity_figures
from edgekit.convert.tflite import check_full_integer, converter_settings, op_details
from edgekit.errors import ConversionError, ParityError, UnsupportedModeError
from edgekit.files import sha256_file
from edgekit.formats import FORMATS, Format, Quantization, expand
from edgekit.layout import artifact_name as artifact_stem
from edgekit.runtime import load

runner = CliRunner()
ALL_PAIRS = [artifact_stem(f, m) for f, m in expand(["all"], ["all"])]


def test_every_format_mode_pair_is_produced(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    assert ALL_PAIRS == [
        "tflite-float32",
        "tflite-float16",
        "tflite-dynamic",
        "tflite-int8",
        "onnx-float32",
        "onnx-dynamic",
        "onnx-int8",
    ]
    assert sorted(dense_artifacts) == sorted(ALL_PAIRS)


@pytest.mark.parametrize("name", ALL_PAIRS)
@pytest.mark.parametrize("which", ["dense_artifacts", "cnn_artifacts"])
def test_artifact_manifest_and_parity(name: str, which: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(which)[name]
    manifest = json.loads(result.manifest_path.read_text())
    model = load(result.artifact)
    assert manifest["sha256"] == sha256_file(result.artifact)
    assert manifest["size_bytes"] == result.artifact.stat().st_size == result.size_bytes
    assert manifest["format"] == result.format.value and manifest["mode"] == result.mode.value
    assert manifest["source_model"]["sha256"] == sha256_file(Path(manifest["source_model"]["path"]))
    assert manifest["input"]["dtype"] == str(model.input_dtype)
    assert (manifest["input"]["scale"], manifest["input"]["zero_point"]) == model.input_quant
    assert (manifest["output"]["scale"], manifest["output"]["zero_point"]) == model.output_quant
    assert manifest["class_names"] == [str(i) for i in range(10)]
    assert manifest["preprocessing"]["scale"] == pytest.approx(1 / 255)
    assert manifest["versions"]["tensorflow-cpu"].startswith("2.21")
    assert (
        model.metadata_source == "embedded"
        and model.metadata["source_model_sha256"] == manifest["source_model"]["sha256"]
    )
    if result.mode is Quantization.INT8:
        assert manifest["calibration"]["count"] == 300 and manifest["calibration"]["split"] == "train"
    else:
        assert manifest["calibration"] is None
    if result.format is Format.ONNX:
        assert manifest["opset"] == 17 and manifest["input"]["name"] == "input"
    # parity figures land in their bands (the expected bands of the issue)
    parity = manifest["parity"]
    assert parity["ok"] is True and result.parity_failures == ()
    assert parity["images"] == 300
    if result.mode is Quantization.NONE:
        assert parity["agreement"] == 1.0 and parity["max_abs_logit_diff"] < 1e-4
    elif result.mode is Quantization.INT8:
        assert parity["agreement"] >= 0.99 and parity["accuracy_drop_points"] <= 0.5
    else:
        assert parity["agreement"] >= 0.995


@pytest.mark.parametrize("which", ["dense_artifacts", "cnn_artifacts"])
def test_tflite_int8_is_full_integer(which: str, request: pytest.FixtureRequest) -> None:
    artifact = request.getfixturevalue(which)["tflite-int8"].artifact
    model = load(artifact)
    assert model.input_dtype == np.int8 and model.output_dtype == np.int8
    ops = op_details(artifact.read_bytes())
    assert ops and all(t in ("INT8", "INT32") for op in ops for t in op["inputs"] + op["outputs"]), ops
    assert {"FULLY_CONNECTED"} <= {op["op"] for op in ops}
    assert check_full_integer(artifact.read_bytes()) == []


def test_float_model_is_not_full_integer(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConversionError, match=r"float op.*FULLY_CONNECTED"):
        check_full_integer(dense_artifacts["tflite-float32"].artifact.read_bytes())


def test_onnx_io_names_batch_dim_and_metadata(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    import onnx

    for name in ("onnx-float32", "onnx-dynamic", "onnx-int8"):
        proto = onnx.load(dense_artifacts[name].artifact)
        onnx.checker.check_model(proto)
        assert proto.graph.input[0].name == "input" and proto.graph.output[0].name == "logits"
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        props = {p.key: p.value for p in proto.metadata_props}
        assert json.loads(props["edgekit"])["mode"] == dense_artifacts[name].mode.value
    int8_ops = {n.op_type for n in onnx.load(dense_artifacts["onnx-int8"].artifact).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= int8_ops


def test_artifact_runs_alone_without_sidecar(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("tflite-int8", "onnx-int8"):
        lone = tmp_path / dense_artifacts[name].artifact.name
        shutil.copy(dense_artifacts[name].artifact, lone)
        model = load(lone)
        assert model.metadata_source == "embedded" and model.metadata["mode"] == "int8"
        assert model.class_names == tuple(str(i) for i in range(10))


def test_sizes_shrink_as_expected(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    f32 = dense_artifacts["tflite-float32"].size_bytes
    assert 0.45 < dense_artifacts["tflite-float16"].size_bytes / f32 < 0.55
    assert 0.22 < dense_artifacts["tflite-int8"].size_bytes / f32 < 0.32
    assert 0.22 < dense_artifacts["onnx-int8"].size_bytes / dense_artifacts["onnx-float32"].size_bytes < 0.32


def test_expand_and_unsupported_modes() -> None:
    assert expand(["onnx"], ["all"]) == [(Format.ONNX, q) for q in FORMATS[Format.ONNX].modes]
    assert expand(["all"], ["float16"]) == [(Format.TFLITE, Quantization.FLOAT16)]
    with pytest.raises(UnsupportedModeError, match="onnx cannot do --quantize float16"):
        expand(["onnx"], ["float16"])
    assert converter_settings(Quantization.INT8)["supported_ops"] == ["TFLITE_BUILTINS_INT8"]


def test_parity_figures_on_hand_built_logits() -> None:
    ref = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    art = ref.copy()
    art[3] = [0, 6.0, 0]  # one disagreement, and it is wrong
    labels = np.array([0, 1, 2, 0])
    figures = parity_figures(ref, art, labels)
    assert figures["agreement"] == 0.75
    assert figures["reference_accuracy"] == 1.0 and figures["artifact_accuracy"] == 0.75
    assert figures["accuracy_drop_points"] == 25.0
    assert figures["max_abs_logit_diff"] == 6.0 and figures["disagreeing_indices"] == [3]
    failures = band_failures(figures, Quantization.INT8)
    assert len(failures) == 2 and "agreement 75.00%" in failures[0] and "accuracy drop 25.00" in failures[1]
    assert band_failures(parity_figures(ref, ref + 1e-6, labels), Quantization.NONE) == []
    assert "logit diff" in band_failures(parity_figures(ref, ref + 1e-3, labels), Quantization.NONE)[0]


def test_overwrite_behaviour(dense_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = [
        "convert",
        str(dense_run.run_dir),
        "-f",
        "tflite",
        "-q",
        "none",
        "--out",
        str(tmp_path),
        "--parity-samples",
        "100",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    before = (tmp_path / "tflite-float32.tflite").stat().st_mtime_ns
    second = runner.invoke(app, args)
    assert second.exit_code == 1 and "already exist" in second.output and "--overwrite" in second.output
    assert (tmp_path / "tflite-float32.tflite").stat().st_mtime_ns == before
    third = runner.invoke(app, [*args, "--overwrite"])
    assert third.exit_code == 0 and (tmp_path / "tflite-float32.tflite").stat().st_mtime_ns > before


def test_failure_midway_leaves_no_artifact(dense_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import edgekit.convert.tflite as tflite

    real = tflite.to_tflite

    def flaky(reference, mode, *args):  # type: ignore[no-untyped-def]
        if mode is Quantization.INT8:
            raise ConversionError("simulated converter crash")
        return real(reference, mode, *args)

    monkeypatch.setattr(tflite, "to_tflite", flaky)  # the format table resolves the converter at call time
    with pytest.raises(ConversionError, match="simulated"):
        convert_all(
            dense_run.run_dir,
            [(Format.TFLITE, Quantization.NONE), (Format.TFLITE, Quantization.INT8)],
            ConvertOptions(out_dir=tmp_path, parity_samples=50),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tflite-float32.json", "tflite-float32.tflite"]


def test_parity_error_keeps_the_artifact_and_exits_1(
    dense_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from edgekit.convert import parity

    monkeypatch.setitem(parity.PARITY_BANDS, Quantization.DYNAMIC, parity.ParityBand(min_agreement=1.01))
    args = [
        "convert",
        str(dense_run.run_dir),
        "-f",
        "tflite",
        "-q",
        "dynamic",
        "--out",
        str(tmp_path),
        "--parity-samples",
        "100",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "parity check failed: tflite-dynamic: top-1 agreement" in result.output
    assert (tmp_path / "tflite-dynamic.tflite").exists()
    manifest = json.loads((tmp_path / "tflite-dynamic.json").read_text())
    assert manifest["parity"]["ok"] is False and manifest["parity"]["failures"]
    unchecked = runner.invoke(app, [*args, "--overwrite", "--no-parity-check"])
    assert unchecked.exit_code == 0, unchecked.output


def test_raise_for_parity_names_each_failure(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    bad = replace(dense_artifacts["onnx-int8"], parity_failures=("top-1 agreement 90.00% < 99.0%",))
    with pytest.raises(ParityError, match=r"onnx-int8: top-1 agreement 90\.00%"):
        raise_for_parity([dense_artifacts["tflite-int8"], bad])


@pytest.mark.parametrize(
    ("setup", "extra", "message", "code"),
    [
        ("missing", [], "does not exist", 1),
        ("garbage", [], "is not a Keras model (.keras zip or legacy .h5) nor a SavedModel", 1),
        ("json", [], "is not a Keras model (.keras zip or legacy .h5) nor a SavedModel", 1),
        # a bad count is a usage error, found before TensorFlow loads
        ("calibration0", ["-q", "int8", "--calibration-samples", "0"], "--calibration-samples must be at least 1", 2),
        (
            "calibration-big",
            ["-q", "int8", "--calibration-samples", "999999"],
            "calibration count 999999 is more than the 3600 images available",
            1,
        ),
        ("out-is-file", [], "is not a directory", 1),
    ],
)
def test_bad_input_is_one_line_exit_1_and_leaves_nothing(
    setup: str, extra: list[str], message: str, code: int, dense_run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source, out = dense_run.run_dir, tmp_path / "out"
    if setup == "missing":
        source = tmp_path / "nope.keras"
    elif setup == "garbage":
        source = tmp_path / "model.keras"
        source.write_bytes(b"not a zip")
    elif setup == "json":
        source = dense_run.run_dir / "manifest.json"
    elif setup == "out-is-file":
        out.write_text("file")
    result = runner.invoke(app, ["convert", str(source), "-f", "tflite", "--out", str(out), *extra])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.is_dir() or list(out.iterdir()) == []


def test_model_with_other_input_shape_needs_data(tmp_path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(tmp_path / "wide.keras")
    result = runner.invoke(app, ["convert", str(tmp_path / "wide.keras"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "pass --data" in result.output
    assert not (tmp_path / "o").exists()
    odd = keras.Sequential([keras.Input((28, 28, 2)), keras.layers.Flatten(), keras.layers.Dense(10)])
    odd.save(tmp_path / "two-channel.keras")
    result = runner.invoke(app, ["convert", str(tmp_path / "two-channel.keras"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "(H, W, 3) images" in result.output


def test_unsupported_pair_is_usage_error(dense_run) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["convert", str(dense_run.run_dir), "-f", "onnx", "-q", "float16"])
    assert result.exit_code == 2 and "onnx cannot do --quantize float16" in result.output


def test_single_convert_entry_with_strings(dense_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = convert(dense_run.run_dir, "tflite", "float16", ConvertOptions(out_dir=tmp_path, parity_samples=100))
    assert result.name == "tflite-float16" and result.artifact == tmp_path / "tflite-float16.tflite"
    assert result.parity["agreement"] >= 0.995 and result.to_dict()["size_bytes"] == result.artifact.stat().st_size
    with pytest.raises(UnsupportedModeError):
        convert(dense_run.run_dir, "onnx", "float16", ConvertOptions(out_dir=tmp_path))


def _one_node_model(
    op_type: str,
    x_shape: list[int | str],
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    opset: int = 17,
    **attrs: object,
) -> object:
    """An ONNX model of one MatMul/Gemm/Conv with constant weights, input 'x', output 'y'."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(weight, "w")] + ([numpy_helper.from_array(bias, "b")] if bias is not None else [])
    node = helper.make_node(
        op_type, ["x", "w", *(["b"] if bias is not None else [])], ["y"], name=op_type.lower(), **attrs
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [f"d{i}" for i in range(len(x_shape))])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _run_onnx(proto: object, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
    return session.run(None, {"x": x})[0]  # type: ignore[no-any-return]


_RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("op_type", "x_shape", "weight", "bias", "attrs"),
    [
        ("MatMul", ["n", 3, 40], _RNG.normal(size=(40, 12)).astype(np.float32), None, {}),
        ("MatMul", ["n", 40], _RNG.normal(size=(40, 12)).astype(np.float32), None, {"opset": 18}),  # reduce axes input
        (
            "Gemm",
            ["n", 40],
            _RNG.normal(size=(12, 40)).astype(np.float32),
            _RNG.normal(size=12).astype(np.float32),
            {"transB": 1, "alpha": 0.5},
        ),
        (
            "Conv",
            ["n", 4, 9, 9],
            _RNG.normal(size=(6, 2, 3, 3)).astype(np.float32),
            _RNG.normal(size=6).astype(np.float32),
            {"pads": [1, 1, 1, 1], "group": 2, "strides": [2, 2]},
        ),
    ],
)
def test_onnx_dynamic_rewrite_is_close_and_each_row_ignores_its_batch(op_type, x_shape, weight, bias, attrs) -> None:  # type: ignore[no-untyped-def]
    """One row (image) with activations 1000x larger must not coarsen the others: each row has its own range."""
    import copy

    from edgekit.convert.onnx_dynamic import quantize_rowwise

    float_model = _one_node_model(op_type, x_shape, weight, bias, **attrs)
    quantized = copy.deepcopy(float_model)
    story = quantize_rowwise(quantized, ("MatMul", "Gemm", "Conv"))
    assert story.quantized == (op_type.lower(),) and story.kept_float == {}
    assert op_type not in {n.op_type for n in quantized.graph.node}
    x = np.abs(_RNG.normal(size=[5, *x_shape[1:]])).astype(np.float32)
    x[2] *= 1000.0
    x[3] -= 0.5  # negative values too
    expected, batched = _run_onnx(float_model, x), _run_onnx(quantized, x)
    alone = np.concatenate([_run_onnx(quantized, x[i : i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(batched, alone, rtol=0, atol=1e-5)
    for row in range(len(x)):  # within 2% of each row's own output scale
        assert np.abs(batched[row] - expected[row]).max() <= 0.02 * np.abs(expected[row]).max(), row


def test_onnx_dynamic_rewrite_keeps_what_it_cannot_quantize_and_says_why() -> None:
    from edgekit.convert.onnx_dynamic import quantize_rowwise

    gemm = _one_node_model("Gemm", [40, "n"], _RNG.normal(size=(40, 12)).astype(np.float32), transA=1)
    story = quantize_rowwise(gemm)
    assert story.quantized == () and story.kept_float == {"gemm": "Gemm with transA"}
    assert story.to_dict()["kept_float"] == {"gemm": "Gemm with transA"}
    batched = _one_node_model("MatMul", ["n", 40], _RNG.normal(size=(2, 40, 12)).astype(np.float32))
    assert quantize_rowwise(batched).kept_float == {"matmul": "its weight has 3 dimensions, not 2"}
