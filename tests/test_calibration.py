"""--calibration-method (both formats) and --quantize int16x8 (TFLite): what they change, measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.convert import ConvertOptions, convert_all
from edgekit.convert.calibration import CalibrationMethod, histogram_ranges
from edgekit.errors import ConversionError, UsageError
from edgekit.formats import Format, Quantization, check_supported, expand


def _outlier_batches() -> list[dict[str, np.ndarray]]:
    """Gaussian activations (sd 1) with one 50-sigma outlier in 20,000 values."""
    rng = np.random.default_rng(0)
    batches = [{"t": rng.normal(size=5000).astype(np.float32)} for _ in range(4)]
    batches[2]["t"][17] = 50.0
    return batches


def test_percentile_and_entropy_ranges_ignore_one_outlier_that_minmax_would_stretch_to() -> None:
    percentile = histogram_ranges(CalibrationMethod.PERCENTILE, _outlier_batches())["t"]
    entropy = histogram_ranges(CalibrationMethod.ENTROPY, _outlier_batches())["t"]
    assert percentile[0] == pytest.approx(-percentile[1]) and 3.0 < percentile[1] < 6.0  # symmetric, ~4.4 sigma
    assert entropy[1] < 12.0 and entropy[0] < -2.0  # minmax's high end would be 50


def test_entropy_clips_an_outlier_the_first_batch_already_holds() -> None:
    """With onnxruntime's 128 bins for 128 quantized bins, a histogram whose range the first batch sets never
    grows, the KL search has one candidate (the whole range) and entropy is min/max: high end 50 here."""
    batches = _outlier_batches()
    batches[0], batches[2] = batches[2], batches[0]
    low, high = histogram_ranges(CalibrationMethod.ENTROPY, batches)["t"]
    assert high < 12.0 and low < -2.0


def test_onnx_quantize_static_gets_the_entropy_bins(monkeypatch: pytest.MonkeyPatch) -> None:
    """quantize_static has no option for bin counts: histogram_bins hands them to its calibrator."""
    import importlib

    from edgekit.convert.calibration import HISTOGRAM_SETTINGS, histogram_bins

    module = importlib.import_module("onnxruntime.quantization.quantize")
    seen: list[dict[str, object]] = []
    monkeypatch.setattr(module, "create_calibrator", lambda *a, extra_options=None, **k: seen.append(extra_options))
    with histogram_bins(CalibrationMethod.ENTROPY):
        module.create_calibrator("model.onnx", extra_options={"symmetric": False})
    module.create_calibrator("model.onnx", extra_options={})  # outside: untouched
    assert seen == [{"symmetric": False, "num_bins": 2048, "num_quantized_bins": 128}, {}]
    assert HISTOGRAM_SETTINGS[CalibrationMethod.ENTROPY]["num_bins"] == 2048


def test_an_unknown_method_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--calibration-method must be minmax, percentile, entropy"):
        ConvertOptions(calibration_method="kl").validate()


def _activation_scales(content: bytes) -> list[float]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    graph = model.Subgraphs(0)
    scales = []
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        q, constant = tensor.Quantization(), model.Buffers(tensor.Buffer()).DataLength() > 0
        if tensor.Type() == schema.TensorType.INT8 and q is not None and q.ScaleLength() == 1 and not constant:
            scales.append(float(q.Scale(0)))
    return scales


def test_percentile_narrows_the_int8_ranges_of_both_formats_and_holds_the_band(cnn_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import onnx

    pairs = [(Format.TFLITE, Quantization.INT8), (Format.ONNX, Quantization.INT8)]
    made = {}
    for method in ("minmax", "percentile"):
        options = ConvertOptions(out_dir=tmp_path / method, parity_samples=300, calibration_method=method)
        made[method] = {r.name: r for r in convert_all(cnn_run.run_dir, pairs, options)}
    from edgekit.convert import artifact_is_current

    for name in ("tflite-int8", "onnx-int8"):
        result = made["percentile"][name]
        assert result.parity_failures == (), result.parity
        sidecar = json.loads(result.manifest_path.read_text())
        assert sidecar["calibration"]["method"] == "percentile"
        source, fmt = sidecar["source_model"]["sha256"], result.format
        for method, current in (("percentile", True), ("minmax", False)):  # the method is part of reuse
            asked = ConvertOptions(parity_samples=300, calibration_method=method)
            assert artifact_is_current(result.artifact, source, asked, Quantization.INT8, fmt) is current
    minmax = _activation_scales(made["minmax"]["tflite-int8"].artifact.read_bytes())
    percentile = _activation_scales(made["percentile"]["tflite-int8"].artifact.read_bytes())
    assert len(minmax) == len(percentile) > 3
    assert sum(p < m * 0.99 for p, m in zip(percentile, minmax, strict=True)) >= 2  # ranges narrowed, not all kept

    def onnx_scales(method: str) -> dict[str, float]:
        graph = onnx.load(str(made[method]["onnx-int8"].artifact)).graph
        return {
            t.name: float(onnx.numpy_helper.to_array(t))
            for t in graph.initializer
            if t.name.endswith("_scale") and not t.dims
        }

    narrowed = [n for n, s in onnx_scales("percentile").items() if s < onnx_scales("minmax").get(n, 0) * 0.99]
    assert len(narrowed) >= 1  # the cnn's convolutions: ReLU outputs with a long tail


def test_int16x8_is_tflite_only_opt_in_and_runs_with_int16_inputs(dense_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edgekit.runtime import load

    assert (Format.TFLITE, Quantization.INT16X8) not in expand(["all"], ["all"])
    assert expand(["all"], ["int16x8"]) == [(Format.TFLITE, Quantization.INT16X8)]
    with pytest.raises(UsageError, match="onnx cannot do --quantize int16x8"):
        check_supported(Format.ONNX, Quantization.INT16X8)
    options = ConvertOptions(out_dir=tmp_path, parity_samples=300)
    [result] = convert_all(dense_run.run_dir, [(Format.TFLITE, Quantization.INT16X8)], options)
    assert result.name == "tflite-int16x8" and result.parity_failures == ()
    assert result.parity["agreement"] >= 0.99
    model = load(result.artifact)
    assert model.input_dtype == np.int16 and model.output_dtype == np.int16
    assert model.graph.quantization == "int16x8"


def test_an_op_without_an_int16x8_kernel_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import keras

    from edgekit.convert.tflite import to_tflite

    class Reference:  # the little of a Reference that to_tflite reads
        kind = "keras"

        def __init__(self, model: object) -> None:
            self.model = model
            self.facts = type("Facts", (), {"input_shape": (8,)})()

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.Activation("hard_swish")])
    images = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    with pytest.raises(ConversionError, match=r"int16x8 conversion failed \(op HARD_SWISH\)") as caught:
        to_tflite(Reference(model), Quantization.INT16X8, images)
    assert "no int16x8 kernel for that op" in (caught.value.hint or "")


def test_the_verdict_names_the_next_options_each_format_has() -> None:
    from types import SimpleNamespace

    from edgekit.workflows.verdict import verdict_of

    job = SimpleNamespace(
        reference=SimpleNamespace(keras_model=None),
        plan=SimpleNamespace(parity_inputs=None),
        options=ConvertOptions(calibration_method="percentile"),
    )
    assert verdict_of(job, Format.TFLITE, b"", tried_all=False) == (
        "its layers are not ranked (a SavedModel has no Keras layers to compare): --allow-float-fallback tries "
        "--calibration-method minmax or entropy, then int16x8"  # no layers to keep in float: no such step
    )
    onnx = verdict_of(job, Format.ONNX, b"", tried_all=True)
    assert "with calibration methods, float layers tried, use onnx-dynamic for this model" in onnx
    assert "tflite-dynamic or tflite-float16" in verdict_of(job, Format.TFLITE, b"", tried_all=True)
