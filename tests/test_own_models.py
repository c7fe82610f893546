"""Bring your own model: the classic tutorial models, saved the way users save them, through convert and predict.

Each fixture model is built and trained here in seconds on real data (the offline MNIST sample, or
scikit-learn's bundled 8x8 digits) or on learnable synthetic RGB images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.data import Dataset

runner = CliRunner()
NAMES = [
    "tflite-float32",
    "tflite-float16",
    "tflite-dynamic",
    "tflite-int8",
    "onnx-float32",
    "onnx-dynamic",
    "onnx-int8",
]


@dataclass(frozen=True)
class OwnModel:
    """A user's model on disk, the flags that declare its contract, and held-out raw inputs with labels."""

    path: Path
    flags: tuple[str, ...]
    raw: np.ndarray  # held-out raw inputs as a user holds them (0..255 pixels, or 0..16 for digits)
    labels: np.ndarray
    model_input: np.ndarray  # the same inputs as the model was trained on them


def _fit(model, x, y, epochs):  # type: ignore[no-untyped-def]
    import keras

    keras.utils.set_random_seed(0)
    loss = "sparse_categorical_crossentropy"
    logits = model.layers[-1].get_config().get("activation") != "softmax"
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=logits) if logits else loss,
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def mnist(sample_dataset: Dataset) -> Dataset:
    return sample_dataset


@pytest.fixture(scope="module")
def softmax_dense(mnist: Dataset, tmp_path_factory: pytest.TempPathFactory) -> OwnModel:
    """The most common tutorial head: Dense(10, activation='softmax') on x / 255, saved with model.save."""
    import keras

    folder = tmp_path_factory.mktemp("softmax-dense")
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    _fit(model, mnist.train.images / 255.0, mnist.train.labels, epochs=6)
    model.save(folder / "mnist_model.keras")
    test = mnist.test
    return OwnModel(
        folder / "mnist_model.keras", (), test.images, test.labels, (test.images / 255.0).astype(np.float32)
    )


@pytest.fixture(scope="module")
def standardized_cnn(mnist: Dataset, tmp_path_factory: pytest.TempPathFactory) -> OwnModel:
    """A (28, 28, 1) CNN on per-pixel standardized raw pixels, one-hot labels; mean/std declared from .npy."""
    import keras

    folder = tmp_path_factory.mktemp("std-cnn")
    x_train = mnist.train.images.astype(np.float32)[..., None]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1
    np.save(folder / "mean.npy", mean)
    np.save(folder / "std.npy", std)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    keras.utils.set_random_seed(0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        (x_train - mean) / std, keras.utils.to_categorical(mnist.train.labels, 10), epochs=4, batch_size=32, verbose=0
    )
    model.save(folder / "cnn.keras")
    test = mnist.test
    x_test = ((test.images.astype(np.float32)[..., None] - mean) / std).astype(np.float32)
    return OwnModel(
        folder / "cnn.keras",
        ("--mean", str(folder / "mean.npy"), "--std", str(folder / "std.npy")),
        test.images,
        test.labels,
        x_test,
    )


@pytest.fixture(scope="module")
def rgb_cnn(tmp_path_factory: pytest.TempPathFactory) -> OwnModel:
    """A 32x32x3 CNN on synthetic colour images (class = which colour band is lit), data given as an .npz."""
    import keras

    folder = tmp_path_factory.mktemp("rgb")
    rng = np.random.default_rng(0)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 4
        x = rng.integers(0, 60, size=(n, 32, 32, 3), dtype=np.uint8)
        for i, label in enumerate(labels):
            x[i, 4 + 6 * label : 8 + 6 * label, 2:30, label % 3] = 230
        return x, labels

    (x_train, y_train), (x_test, y_test) = images(480), images(200)
    np.savez(folder / "shapes.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )
    _fit(model, x_train / 255.0, y_train, epochs=5)
    model.save(folder / "rgb.keras")
    return OwnModel(
        folder / "rgb.keras",
        ("--data", str(folder / "shapes.npz"), "--class-names", "a,b,c,d"),
        x_test,
        y_test,
        (x_test / 255.0).astype(np.float32),
    )


@pytest.fixture(scope="module")
def digits_dense(tmp_path_factory: pytest.TempPathFactory) -> OwnModel:
    """A dense logits model on scikit-learn's real 8x8 digits (values 0..16), preprocessing x / 16."""
    import keras

    from edgekit.data import load_data

    folder = tmp_path_factory.mktemp("digits")
    data = load_data("digits")
    model = keras.Sequential(
        [keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    _fit(model, data.train.images / 16.0, data.train.labels, epochs=40)
    model.save(folder / "digits.keras")
    test = data.test
    return OwnModel(
        folder / "digits.keras",
        ("--data", "digits", "--scale", "0.0625"),
        test.images,
        test.labels,
        (test.images / 16.0).astype(np.float32),
    )


CASES = ["softmax_dense", "standardized_cnn", "rgb_cnn", "digits_dense"]


@pytest.fixture(scope="module")
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Each case converted once to every format and mode through the CLI."""
    out = {}
    for case in CASES:
        own: OwnModel = request.getfixturevalue(case)
        target = tmp_path_factory.mktemp(f"{case}-artifacts")
        result = runner.invoke(
            app, ["convert", str(own.path), "--out", str(target), "--parity-samples", "200", *own.flags]
        )
        out[case] = (own, target, result)
    return out


@pytest.mark.parametrize("case", CASES)
def test_convert_all_meets_the_bands(case: str, converted) -> None:  # type: ignore[no-untyped-def]
    import keras

    own, target, result = converted[case]
    assert result.exit_code == 0, result.output
    keras_out = keras.saving.load_model(own.path).predict(own.model_input, verbose=0)
    keras_probs = keras_out if case in ("softmax_dense", "standardized_cnn") else _softmax(keras_out)
    from edgekit.runtime import load

    for name in NAMES:
        path = target / (name + (".tflite" if name.startswith("tflite") else ".onnx"))
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["parity"]["ok"] is True, (name, sidecar["parity"]["failures"])
        prediction = load(path).predict(own.raw)
        agreement = float(np.mean(prediction.labels == keras_probs.argmax(1)))
        if name.endswith("float32"):
            np.testing.assert_allclose(prediction.probabilities, keras_probs, atol=1e-5)
            assert agreement == 1.0
        elif name.endswith("dynamic"):
            assert agreement >= 0.99, (name, agreement)
        elif name.endswith("int8"):
            keras_acc = float(np.mean(keras_probs.argmax(1) == own.labels))
            acc = float(np.mean(prediction.labels == own.labels))
            assert agreement >= 0.99 and keras_acc - acc <= 0.005, (name, agreement, keras_acc, acc)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_head_is_not_softmaxed_twice(converted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import keras

    own, target, result = converted["softmax_dense"]
    assert "outputs probabilities (inferred: final softmax)" in result.output
    np.save(tmp_path / "five.npy", own.raw[:5])
    shown = runner.invoke(app, ["predict", str(target / "tflite-float32.tflite"), str(tmp_path / "five.npy"), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    keras_probs = keras.saving.load_model(own.path).predict(own.model_input[:5], verbose=0)
    assert [r["probability"] for r in rows] == pytest.approx(keras_probs.max(axis=1).tolist(), abs=1e-5)
    assert min(r["probability"] for r in rows) > 0.5  # softmax of probabilities would give ~0.23


def test_standardized_cnn_int8_keeps_its_accuracy(converted) -> None:  # type: ignore[no-untyped-def]
    _, target, _ = converted["standardized_cnn"]
    sidecar = json.loads((target / "tflite-int8.json").read_text())
    assert sidecar["contract"]["preprocessing"]["kind"] == "standardize"
    assert sidecar["contract"]["input_shape"] == [28, 28, 1]
    assert sidecar["parity"]["accuracy_drop_points"] <= 0.5 and sidecar["parity"]["artifact_accuracy"] > 0.9


def test_onnx_dynamic_answers_do_not_depend_on_the_batch(converted) -> None:  # type: ignore[no-untyped-def]
    """Per-pixel standardization makes some images' activations thousands of times larger than others'.

    One activation range per call let those images coarsen every image beside them (21% agreement in a
    batch of 1,000, 100% one at a time); each row's own range gives the same answers in any batch.
    """
    own, target, _ = converted["standardized_cnn"]
    from edgekit.runtime import load

    model = load(target / "onnx-dynamic.onnx")
    batched = model.predict(own.raw).probabilities
    alone = np.concatenate([model.predict(own.raw[i : i + 1]).probabilities for i in range(0, len(own.raw), 37)])
    np.testing.assert_allclose(alone, batched[::37], rtol=0, atol=1e-6)  # per batch: off by up to 0.97
    story = json.loads((target / "onnx-dynamic.json").read_text())["quantization"]
    assert len(story["quantized"]) == 2 and story["kept_float"] == {}


def test_contamination_is_said_for_a_foreign_model_on_the_sample(converted) -> None:  # type: ignore[no-untyped-def]
    _, target, result = converted["softmax_dense"]
    assert "figures are optimistic" in result.output
    assert "seen in training" in json.loads((target / "onnx-int8.json").read_text())["evaluation_note"]
    _, _, digits = converted["digits_dense"]
    assert "figures are optimistic" not in digits.output


def test_same_model_as_keras_h5_and_saved_model(softmax_dense: OwnModel, tmp_path: Path) -> None:
    import keras

    model = keras.saving.load_model(softmax_dense.path)
    model.save(tmp_path / "m.h5")
    model.export(tmp_path / "saved")
    (tmp_path / "renamed.keras").write_bytes((tmp_path / "m.h5").read_bytes())  # an .h5 renamed .keras
    answers = []
    for source in (softmax_dense.path, tmp_path / "m.h5", tmp_path / "saved", tmp_path / "renamed.keras"):
        target = tmp_path / f"art-{source.name}"
        result = runner.invoke(
            app,
            [
                "convert",
                str(source),
                "-f",
                "tflite",
                "-q",
                "none",
                "--out",
                str(target),
                "--parity-samples",
                "100",
                "--outputs",
                "probabilities",
            ],
        )
        assert result.exit_code == 0, (source, result.output)
        from edgekit.runtime import load

        answers.append(load(target / "tflite-float32.tflite").predict(softmax_dense.raw[:50]).probabilities)
    for other in answers[1:]:
        np.testing.assert_allclose(other, answers[0], atol=1e-6)


@pytest.mark.parametrize(
    ("flags", "message", "code"),
    [
        (("--outputs", "logits"), "contradicts the model", 2),
        (("--class-names", "a,b,c"), "3 class names declared for a model with 10 outputs", 2),
        (("--scale", "0.1", "--mean", "3"), "either --scale/--offset or --mean/--std", 2),
        (("--std", "0"), "std must be positive", 2),
    ],
)
def test_contradicting_or_bad_flags_are_one_line(softmax_dense: OwnModel, tmp_path: Path, flags, message, code) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app, ["convert", str(softmax_dense.path), "-f", "tflite", "-q", "none", "--out", str(tmp_path / "out"), *flags]
    )
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_data_is_one_line_and_writes_nothing(rgb_cnn: OwnModel, softmax_dense: OwnModel, tmp_path: Path) -> None:
    from PIL import Image

    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(flat / "a.png")
    gray = tmp_path / "gray.npz"
    np.savez(gray, x=np.zeros((40, 32, 32), np.uint8), y=np.arange(40) % 4)
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.zeros((40, 32, 32, 3), np.uint8), y=np.arange(40) % 7)
    for data, message in ((flat, "subfolder"), (gray, "channel"), (labels, "label")):
        out = tmp_path / f"out-{Path(data).stem}"
        result = runner.invoke(
            app, ["convert", str(rgb_cnn.path), "-f", "tflite", "-q", "none", "--out", str(out), "--data", str(data)]
        )
        assert result.exit_code in (1, 2), result.output
        assert message in result.output.lower() and "Traceback" not in result.output, result.output
        assert not out.exists() or not any(out.iterdir())
    no_data = runner.invoke(
        app, ["convert", str(rgb_cnn.path), "-f", "tflite", "-q", "none", "--out", str(tmp_path / "nd")]
    )
    assert no_data.exit_code == 2 and "--data" in no_data.output


def test_multi_output_model_is_refused(tmp_path: Path) -> None:
    import keras

    inp = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inp)
    model = keras.Model(inp, [keras.layers.Dense(10)(flat), keras.layers.Dense(2)(flat)])
    model.save(tmp_path / "two.keras")
    result = runner.invoke(app, ["convert", str(tmp_path / "two.keras"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "1 inputs and 2 outputs" in result.output
    assert not (tmp_path / "out").exists()
