"""A model with a deliberately fragile layer: full-integer int8 wrecks it, explain blames that layer in TFLite and
ONNX, and --allow-float-fallback keeps just that layer (and the one the damage reaches) in float."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.convert import ConvertOptions, raise_for_parity
from edgekit.convert.results import FallbackTry
from edgekit.errors import ParityError, UsageError
from edgekit.formats import Format, Quantization
from edgekit.workflows import convert_all

runner = CliRunner()
INT8 = [(Format.TFLITE, Quantization.INT8), (Format.ONNX, Quantization.INT8)]
OPTIONS = {"parity_samples": 300, "calibration_samples": 200}


def _base_model(dataset):  # type: ignore[no-untyped-def]
    """Flatten, Dense 64 ReLU "fragile", Dense 32 ReLU "hidden", Dense 10 logits, fitted on the offline sample."""
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="fragile"),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="fragile_net",
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(dataset.train.images.astype(np.float32) / 255, dataset.train.labels, epochs=4, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def fragile_models(sample_dataset, tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Two fragile variants that the float model cannot tell from the trained one (same answers)."""
    model = _base_model(sample_dataset)
    images = np.concatenate([sample_dataset.train.images, sample_dataset.validation.images, sample_dataset.test.images])
    dead = np.flatnonzero(images.reshape(len(images), -1).max(axis=0) == 0)  # pixels never inked in the data
    weights, bias = model.get_layer("fragile").get_weights()
    hidden_weights, hidden_bias = model.get_layer("hidden").get_weights()
    saved = {}
    # activations: two units always near 2000, which no later layer listens to; per-tensor int8 takes their range
    model.get_layer("fragile").set_weights([weights, np.concatenate([[2000.0, 2000.0], bias[2:]]).astype(np.float32)])
    model.get_layer("hidden").set_weights(
        [np.concatenate([np.zeros_like(hidden_weights[:2]), hidden_weights[2:]]), hidden_bias]
    )
    saved["activations"] = tmp_path_factory.mktemp("fragile-activations") / "model.keras"
    model.save(saved["activations"])
    # weights: huge weights on pixels that are always 0; every unit's int8 weight scale rounds its real weights to 0
    outliers = weights.copy()
    outliers[dead[:8], :] = 40.0 * np.where(np.arange(8)[:, None] % 2, 1.0, -1.0)
    model.get_layer("fragile").set_weights([outliers, bias])
    model.get_layer("hidden").set_weights([hidden_weights, hidden_bias])
    saved["weights"] = tmp_path_factory.mktemp("fragile-weights") / "model.keras"
    model.save(saved["weights"])
    return saved


def _convert(model: Path, out: Path, **options):  # type: ignore[no-untyped-def]
    return {r.name: r for r in convert_all(model, INT8, ConvertOptions(out_dir=out, **OPTIONS, **options))}


def _check_blame_and_fallback(model: Path, tmp_path: Path, expected_float: tuple[str, ...]) -> None:
    from edgekit.convert.tflite import check_full_integer, op_details
    from edgekit.explain import ExplainConfig, explain
    from edgekit.runtime import load

    plain = _convert(model, tmp_path / "plain")
    for result in plain.values():  # full integer, as always, and far outside the band
        assert result.mode is Quantization.INT8 and result.parity["accuracy_drop_points"] > 20
    assert check_full_integer(plain["tflite-int8"].artifact.read_bytes()) == []
    with pytest.raises(ParityError):
        raise_for_parity(list(plain.values()))

    paths = tuple(str(r.artifact) for r in plain.values())
    explained = explain(model, ExplainConfig(artifacts=paths, out_dir=tmp_path / "explain", plots=False))
    for e in explained.explanations:
        assert e.ranking()[0].layer == "fragile" and e.worst.layer == "fragile", e.name

    mixed = _convert(model, tmp_path / "mixed", allow_float_fallback=True)
    assert set(mixed) == {"tflite-int8-mixed", "onnx-int8-mixed"}
    for name, result in mixed.items():
        assert result.mode is Quantization.INT8_MIXED and result.artifact.name.startswith(name)
        assert result.float_layers == expected_float, name
        assert result.parity_failures == () and result.parity["accuracy_drop_points"] <= 0.5
        assert result.fallback[0].float_layers == () and result.fallback[0].accuracy_drop_points > 20
        # the order of the steps: other calibrations first (still full integer), then float layers; each measured
        steps = [t.step for t in result.fallback]
        assert steps[:3] == ["int8 minmax", "int8 percentile", "int8 entropy"], steps
        assert all(t.accuracy_drop_points > 0.5 for t in result.fallback[:3])  # outliers: no range rule helps
        assert steps[-1] == f"float: {', '.join(expected_float)}" and [t.kept for t in result.fallback][-1] is True
        sidecar = json.loads(result.manifest_path.read_text())
        assert sidecar["mode"] == "int8-mixed" and sidecar["options"]["float_layers"] == list(expected_float)
        assert load(result.artifact).metadata["mode"] == "int8-mixed"  # embedded in the model file too
    assert not (tmp_path / "mixed" / "tflite-int8.tflite").exists()  # the full-integer miss is not kept
    tflite = load(mixed["tflite-int8-mixed"].artifact)
    assert tflite.input_dtype == np.int8 and tflite.output_dtype == np.int8  # int8 in and out, like int8
    float_ops = [
        op["op"] for op in op_details(mixed["tflite-int8-mixed"].artifact.read_bytes()) if "FLOAT32" in op["outputs"]
    ]
    assert float_ops.count("FULLY_CONNECTED") == len(expected_float)  # only the kept layers compute in float


def test_activation_outliers_blamed_on_their_layer_and_kept_float_with_the_layer_they_feed(
    fragile_models, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # the outliers' tensor still looks fine (they carry its energy); the channel SQNR sees the rest rounded away.
    # Keeping "fragile" float is not enough: its output is still quantized at the outliers' scale for "hidden".
    _check_blame_and_fallback(fragile_models["activations"], tmp_path, ("fragile", "hidden"))


@pytest.mark.slow
def test_weight_outliers_blamed_on_their_layer_and_only_it_kept_float(fragile_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _check_blame_and_fallback(fragile_models["weights"], tmp_path, ("fragile",))


@pytest.mark.slow
def test_the_command_without_the_flag_fails_and_with_it_names_the_float_layers(fragile_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, args = str(fragile_models["activations"]), ["-f", "tflite", "-q", "int8", "--parity-samples", "300"]
    plain = runner.invoke(app, ["convert", model, *args, "-o", str(tmp_path / "a")])
    assert plain.exit_code == 1 and "parity check failed: tflite-int8" in plain.output
    mixed = runner.invoke(app, ["convert", model, *args, "-o", str(tmp_path / "b"), "--allow-float-fallback"])
    assert mixed.exit_code == 0, mixed.output
    said = " ".join(mixed.output.split())
    assert "int8 minmax missed its band" in said and "tried int8 percentile" in said
    assert said.count("kept float: fragile, hidden") == 1


def test_max_accuracy_drop_moves_the_int8_bands_only() -> None:
    from edgekit.convert.parity import PARITY_BANDS, band_failures, band_for

    assert band_for(Quantization.INT8, 60).max_accuracy_drop == 60
    assert band_for(Quantization.INT8_MIXED).max_accuracy_drop == 0.5
    assert band_for(Quantization.NONE, 60) == PARITY_BANDS[Quantization.NONE]
    figures = {"agreement": 0.995, "accuracy_drop_points": 1.2, "max_abs_output_diff": 1.0}
    assert band_failures(figures, Quantization.INT8) == ["accuracy drop 1.20 points > 0.5"]
    assert band_failures(figures, Quantization.INT8, band_for(Quantization.INT8, 2.0)) == []


def test_a_healthy_model_stays_full_integer_with_the_flag(dense_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = ConvertOptions(out_dir=tmp_path, parity_samples=300, allow_float_fallback=True)
    [result] = convert_all(dense_run.run_dir, [(Format.TFLITE, Quantization.INT8)], options)
    assert result.mode is Quantization.INT8 and result.float_layers == () and result.parity_failures == ()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tflite"] == ["tflite-int8.tflite"]


def test_fallback_options_are_checked_before_anything_loads() -> None:
    with pytest.raises(UsageError, match="needs the parity check"):
        ConvertOptions(allow_float_fallback=True, measure_parity=False).validate()
    with pytest.raises(UsageError, match="needs its loop"):  # the loop is above convert: edgekit.workflows has it
        ConvertOptions(allow_float_fallback=True).validate()
    with pytest.raises(UsageError, match="--max-accuracy-drop must be 0 to 100"):
        ConvertOptions(max_accuracy_drop=-1).validate()
    result = runner.invoke(app, ["convert", "--help"], env={"COLUMNS": "300"})
    assert "--allow-float-fallback" in result.output and "--max-accuracy-drop" in result.output
    assert runner.invoke(app, ["convert", "x.keras", "-q", "int8-mixed"]).exit_code == 2  # an outcome, not a choice


def test_an_int16x8_the_converter_cannot_make_is_recorded_and_never_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from edgekit.errors import ConversionError
    from edgekit.workflows import float_fallback as fallback

    def no_kernel(job: object, fmt: Format, mode: Quantization) -> bytes:
        raise ConversionError("TFLite int16x8 conversion failed (op HARD_SWISH): not yet supported")

    monkeypatch.setattr(fallback, "_converted", no_kernel)
    job = SimpleNamespace(options=ConvertOptions())
    failed = fallback._made(job, Format.TFLITE, Quantization.INT16X8)
    assert failed.tried.made is False and failed.tried.step == "int16x8"
    assert failed.tried.failures == ("TFLite int16x8 conversion failed (op HARD_SWISH): not yet supported",)
    made = fallback._Candidate(job, Quantization.INT8, b"model", FallbackTry((), 1.2, 0.97, ("agreement",)))
    assert fallback._best([made, failed]) is made


def test_a_layer_with_no_op_of_its_own_is_passed_over_for_the_next_worst(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A BatchNorm folded into tf2onnx's Conv__N has no node to keep in float: the next-ranked layer is kept."""
    from types import SimpleNamespace

    from edgekit.errors import ConversionError
    from edgekit.explain import golden
    from edgekit.workflows import float_fallback as fallback

    ranking = ["folded_bn", "conv", "dense"]

    def worst(golden: object, fmt: Format, content: bytes, excluded: tuple[str, ...]) -> str | None:
        return next((layer for layer in ranking if layer not in excluded), None)

    def mixed_factory(reference: object, calibration: object, options: object):  # type: ignore[no-untyped-def]
        def quantize(layers: tuple[str, ...]) -> bytes:
            if "folded_bn" in layers:
                raise ConversionError("no ONNX node belongs to the layer(s) folded_bn")
            return ",".join(layers).encode()

        return quantize

    def measure(job, fmt, mode, content, float_layers=()):  # type: ignore[no-untyped-def]
        tried = FallbackTry(float_layers, 0.0, 1.0 if "conv" in float_layers else 0.9, ())
        return fallback._Candidate(job, mode, content, tried if "conv" in float_layers else replace_failures(tried))

    def replace_failures(tried: FallbackTry) -> FallbackTry:
        from dataclasses import replace

        return replace(tried, failures=("top-1 agreement 90.00% < 99.0%",))

    monkeypatch.setattr(golden, "capture_keras", lambda model, images: None)
    monkeypatch.setattr(fallback, "_worst_quantized_layer", worst)
    monkeypatch.setattr(fallback, "_measure", measure)
    spec = SimpleNamespace(load_mixed_converter=lambda: mixed_factory)
    monkeypatch.setitem(fallback.FORMATS, Format.ONNX, spec)
    job = SimpleNamespace(
        reference=SimpleNamespace(keras_model=None),
        plan=SimpleNamespace(parity_inputs=np.zeros((4, 2)), calibration_inputs=None),
        options=ConvertOptions(),
    )
    start = fallback._Candidate(job, Quantization.INT8, b"int8", FallbackTry((), 2.0, 0.9, ("agreement",)))
    tries = fallback._float_layers(start, Format.ONNX)
    assert [t.tried.float_layers for t in tries] == [("conv",)]
    assert tries[-1].holds and tries[-1].content == b"conv"
