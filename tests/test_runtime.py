from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.contract import mnist_contract
from edgekit.errors import ArtifactError, BackendError, UsageError
from edgekit.runtime import load, prepare_images
from edgekit.runtime.pictures.images import load_images, mnist_style
from edgekit.runtime.quantization import dequantize, quantize
from tests.cli_checks import no_bug

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


@pytest.fixture(scope="module")
def keras_logits(dense_run, tiny_dataset):  # type: ignore[no-untyped-def]
    import keras

    model = keras.saving.load_model(dense_run.model_path)
    return model.predict(mnist_contract().model_input(tiny_dataset.test.images), verbose=0)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_agrees_with_keras(name: str, dense_artifacts, tiny_dataset, keras_logits) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts[name].artifact)
    prediction = model.predict(tiny_dataset.test.images)  # 300 uint8 images
    assert prediction.raw.shape == (300, 10) and prediction.labels.shape == (300,)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-5)
    agreement = float(np.mean(prediction.labels == keras_logits.argmax(1)))
    if name.endswith("float32"):
        assert agreement == 1.0
        np.testing.assert_allclose(prediction.logits, keras_logits, atol=1e-4)
    else:
        assert agreement >= 0.99
    # float input in [0, 1] and uint8 input give the same answers (general path vs fast path); same batch,
    # because ONNX dynamic quantization picks its activation range per batch
    as_float = model.predict(mnist_contract().model_input(tiny_dataset.test.images[:40]))
    np.testing.assert_array_equal(as_float.raw, model.predict(tiny_dataset.test.images[:40]).raw)


def test_backend_and_version_are_visible(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    tfl = load(dense_artifacts["tflite-int8"].artifact, num_threads=1)
    assert tfl.backend == "ai_edge_litert" and tfl.backend_version == "2.3.0"
    assert tfl.describe()["input"]["dtype"] == "int8" and tfl.describe()["threads"] == 1
    ort = load(dense_artifacts["onnx-float32"].artifact, num_threads=2)
    assert ort.backend == "onnxruntime" and ort.backend_version.startswith("1.")


def test_missing_backend_names_the_pip_command(dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BackendError, match="no tflite_runtime interpreter") as info:
        load(dense_artifacts["tflite-int8"].artifact, backend="tflite_runtime")
    assert info.value.hint == "pip install tflite-runtime"
    with pytest.raises(UsageError, match="cannot run tflite"):
        load(dense_artifacts["tflite-int8"].artifact, backend="onnxruntime")


def test_batch_sizes_change_without_harm(dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-int8"].artifact)
    images = tiny_dataset.test.images
    big = model.predict(images[:300]).raw
    one = np.concatenate([model.predict(img).raw for img in images[:5]])
    np.testing.assert_array_equal(one, big[:5])
    np.testing.assert_array_equal(model.predict(images[:7]).raw, big[:7])
    chunked = model.predict(np.concatenate([images] * 2))  # 600 images: more than one interpreter chunk
    np.testing.assert_array_equal(chunked.raw[300:], big)


def test_quantize_rounds_and_clips_at_the_edges() -> None:
    x = np.array([-1.0, 0.0, 0.49 / 255, 0.51 / 255, 0.5, 1.0, 2.0])
    q = quantize(x, scale=1 / 255, zero_point=-128)
    assert q.dtype == np.int8
    assert q.tolist() == [-128, -128, -128, -127, 0, 127, 127]  # 0.5*255-128=-0.5 rounds half to even: 0
    assert quantize(np.array([0.3]), 0.1, 0).tolist() == [3]  # a bare cast of 2.9999 would give 2
    np.testing.assert_allclose(dequantize(np.array([-128, 0, 127], np.int8), 0.5, -1), [-63.5, 0.5, 64.0])


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((32, 32, 3), np.uint8), "images have shape (32, 32, 3)"),
        (np.full((28, 28), np.nan, np.float32), "NaN or inf"),
        (np.full((28, 28), np.inf, np.float32), "NaN or inf"),
        (np.full((28, 28), 300.0, np.float32), "float images must be in 0..255 or [0, 1]"),
        (np.full((28, 28), 300, np.int32), "integer images must be in 0..255"),
        (np.zeros((0, 28, 28), np.uint8), "no images"),
        (np.array(["a"] * 784).reshape(28, 28), "dtype"),
    ],
)
def test_bad_arrays_are_clear_errors(images: np.ndarray, message: str) -> None:
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        prepare_images(images)


def test_shapes_with_channel_axis_are_accepted() -> None:
    assert prepare_images(np.zeros((28, 28, 1), np.uint8)).shape == (1, 28, 28)
    assert prepare_images(np.zeros((5, 28, 28, 1), np.uint8)).shape == (5, 28, 28)
    assert prepare_images(np.zeros((28, 28), np.float64)).dtype == np.float32


def _digit_picture(size: tuple[int, int], white_background: bool, mode: str = "L") -> Image.Image:
    canvas = np.zeros((size[1], size[0]), np.uint8)
    h, w = canvas.shape
    canvas[h // 5 : h // 5 + h // 2, w // 3 : w // 3 + max(2, w // 8)] = 255  # a vertical stroke, off-centre
    if white_background:
        canvas = 255 - canvas
    return Image.fromarray(canvas).convert(mode)


@pytest.mark.parametrize(
    ("size", "white", "mode", "suffix"),
    [
        ((28, 28), False, "L", ".png"),
        ((200, 120), True, "L", ".png"),
        ((97, 151), False, "RGB", ".png"),
        ((64, 64), True, "RGB", ".jpg"),
        ((50, 70), True, "RGBA", ".png"),
    ],
)
def test_picture_files_become_mnist_style(tmp_path: Path, size, white, mode, suffix) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"digit{suffix}"
    _digit_picture(size, white, mode).save(path)
    [item] = load_images(path)
    image = item.images[0]
    assert item.images.shape == (1, 28, 28) and item.images.dtype == np.uint8
    assert image[0].max() < 64 and image[:, 0].max() < 64  # black background, whatever the input's
    assert image.max() > 200  # white ink
    if size != (28, 28):
        ys, xs = np.nonzero(image > 50)
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) <= 21  # fitted in the 20-pixel box
        weights = image.astype(float)
        cy = (weights.sum(1) * np.arange(28)).sum() / weights.sum()
        cx = (weights.sum(0) * np.arange(28)).sum() / weights.sum()
        assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5  # centre of mass centred, as MNIST does


def test_real_digit_survives_the_picture_round_trip(tmp_path: Path, dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-float32"].artifact)
    direct = model.predict(tiny_dataset.test.images[:60]).labels
    hits = 0
    for i in range(60):  # black-on-white, scaled up: what a phone photo of a digit looks like
        path = tmp_path / f"{i}.png"
        Image.fromarray(255 - tiny_dataset.test.images[i]).resize((112, 112)).save(path)
        hits += int(model.predict(load_images(path)[0].images).labels[0] == direct[i])
    assert hits >= 50  # re-centring moves pixels a little; the answer mostly stays


def test_folder_and_idx_inputs(tmp_path: Path, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    from edgekit.idx import write_idx

    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", tiny_dataset.test.images[:4])
    np.save(tmp_path / "b.npy", tiny_dataset.test.images[4:6])
    _digit_picture((40, 40), True).save(tmp_path / "c.png")
    (tmp_path / "notes.txt").write_text("ignored")
    items = load_images(tmp_path)
    assert [Path(i.source).name for i in items] == ["b.npy", "c.png", "t10k-images-idx3-ubyte.gz"]
    assert [len(i.images) for i in items] == [2, 1, 4]


def test_thread_safety_4_threads_x_1000(dense_artifacts, tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-int8"].artifact)
    images = tiny_dataset.test.images[:250]
    expected = model.predict(images).raw
    failures: list[str] = []

    def worker(offset: int) -> None:
        for n in range(1000):
            i = (offset * 37 + n) % len(images)
            got = model.predict(images[i]).raw[0] if n % 2 else model.predict(images[i : i + 3]).raw[0]
            if not np.array_equal(got, expected[i]):
                failures.append(f"thread {offset} call {n} image {i}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_runtime_never_imports_tensorflow(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "x.png"
    _digit_picture((60, 60), True).save(image)
    code = f"""
import sys
from edgekit.runtime import load
for p in {[str(dense_artifacts[n].artifact) for n in ("tflite-int8", "tflite-float32", "onnx-int8")]!r}:
    load(p, num_threads=1).predict(__import__("numpy").zeros((2, 28, 28), "uint8"))
from edgekit.cli import app
try:
    app(["predict", {str(dense_artifacts["tflite-int8"].artifact)!r}, {str(image)!r}, "--json"])
except SystemExit as e:
    assert e.code in (0, None), e.code
heavy = [m for m in ("tensorflow", "keras", "tf2onnx", "matplotlib", "onnx") if m in sys.modules]
print("HEAVY", heavy)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert '"label"' in done.stdout


def test_cli_predict_json_and_table(dense_artifacts, tiny_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "three.npy", tiny_dataset.test.images[:3])
    artifact = str(dense_artifacts["onnx-int8"].artifact)
    result = runner.invoke(app, ["predict", artifact, str(tmp_path / "three.npy"), "--json", "-k", "3"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # notes and the contract line go to stderr
    assert len(rows) == 3 and rows[0]["source"].endswith("three.npy[0]")
    assert rows[0]["contract"]["sources"]["preprocessing"] == "the training run"
    assert len(rows[0]["raw"]) == 10  # the interpreter's own output, for bit-exact comparisons across machines
    assert len(rows[0]["top_k"]) == 3 and rows[0]["top_k"][0]["probability"] >= rows[0]["top_k"][1]["probability"]
    expected = load(artifact).predict(tiny_dataset.test.images[:3]).labels.tolist()
    assert [r["label"] for r in rows] == expected
    table = runner.invoke(app, ["predict", artifact, str(tmp_path / "three.npy")])
    assert table.exit_code == 0 and "onnxruntime" in table.output and "probability" in table.output


@pytest.mark.parametrize(
    "case",
    [
        "missing-image",
        "not-an-image",
        "wide-array",
        "nan-array",
        "truncated-model",
        "onnx-renamed",
        "empty-folder",
        "text-model",
    ],
)
def test_cli_bad_input_is_one_line_exit_1(case: str, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact = dense_artifacts["tflite-int8"].artifact
    image = tmp_path / "ok.npy"
    np.save(image, np.zeros((28, 28), np.uint8))
    if case == "missing-image":
        image = tmp_path / "nope.png"
    elif case == "not-an-image":
        image = tmp_path / "fake.png"
        image.write_text("hello")
    elif case == "wide-array":
        np.save(image, np.zeros((32, 32, 3), np.uint8))
    elif case == "nan-array":
        np.save(image, np.full((28, 28), np.nan, np.float32))
    elif case == "truncated-model":
        artifact = tmp_path / "cut.tflite"
        artifact.write_bytes(dense_artifacts["tflite-int8"].artifact.read_bytes()[:5000])
    elif case == "onnx-renamed":
        artifact = tmp_path / "really-onnx.tflite"
        artifact.write_bytes(dense_artifacts["onnx-int8"].artifact.read_bytes())
    elif case == "empty-folder":
        image = tmp_path / "empty"
        image.mkdir()
    elif case == "text-model":
        artifact = tmp_path / "model.onnx"
        artifact.write_text("definitely not protobuf")
    result = runner.invoke(app, ["predict", str(artifact), str(image)])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and no_bug(result) and not result.stdout.strip()


def test_cli_top_k_zero_is_usage_error(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "a.npy", np.zeros((28, 28), np.uint8))
    result = runner.invoke(
        app, ["predict", str(dense_artifacts["tflite-int8"].artifact), str(tmp_path / "a.npy"), "--top-k", "0"]
    )
    assert result.exit_code == 2


def test_mnist_style_inverts_and_keeps_28x28() -> None:
    white = np.full((28, 28), 255, np.uint8)
    white[10:18, 12:15] = 0
    digit = mnist_style(white)
    assert digit.image[0, 0] == 0 and digit.image[12, 13] == 255 and not digit.blank


def test_pi_smoke_script_parses_and_cleans_up_with_a_trap() -> None:
    script = Path(__file__).parent.parent / "scripts" / "pi-smoke.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "trap cleanup EXIT" in text and "QEMU_CPU" in text and "/proc/cpuinfo" in text
