"""Issue #11, cases 2, 3, 6 (model files and threads), 7 and 10 in the runtime: damaged, edited and hostile
artifacts are one line and the documented exit code, never a silent wrong answer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.errors import ArtifactError, UsageError
from edgekit.runtime import load
from edgekit.runtime.metadata import embed_tflite_metadata
from tests.cli_checks import no_bug

runner = CliRunner()


def _copy(dense_artifacts, name: str, folder: Path, sidecar: bool = True) -> Path:  # type: ignore[no-untyped-def]
    source = dense_artifacts[name].artifact
    target = folder / source.name
    shutil.copy(source, target)
    if sidecar:
        shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return target


def _flip_a_weight_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x40  # the middle of the file: weights, in both formats
    path.write_bytes(bytes(content))


@pytest.mark.parametrize("name", ["tflite-int8", "onnx-float32"])
@pytest.mark.parametrize("sidecar", [True, False], ids=["with-sidecar", "file-alone"])
def test_a_flipped_weight_byte_is_caught(name: str, sidecar: bool, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(dense_artifacts, name, tmp_path, sidecar)
    assert load(path).integrity.verified  # untouched: the sidecar's sha256 or the embedded seal matches
    _flip_a_weight_byte(path)
    with pytest.raises(ArtifactError, match="does not match its sidecar" if sidecar else "does not match the seal"):
        load(path)
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    refused = runner.invoke(app, ["predict", str(path), str(tmp_path / "x.npy")])
    assert refused.exit_code == 1 and "--no-verify" in refused.stderr and no_bug(refused)
    assert refused.stderr.count("sha256") == 1 and "..." in refused.stderr  # both hashes, one line
    forced = runner.invoke(app, ["predict", str(path), str(tmp_path / "x.npy"), "--no-verify", "--json"])
    assert no_bug(forced) and forced.exit_code in (0, 1)  # runs; NaN scores would be an error row
    for line in forced.stdout.splitlines():
        json.loads(line)  # valid JSON either way: never a bare NaN


def test_an_edited_preprocessing_offset_breaks_the_seal(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(dense_artifacts, "tflite-int8", tmp_path, sidecar=False)
    content = path.read_bytes()
    edited = content.replace(b'"offset": 0.0', b'"offset": 0.5')  # same length: only the seal can tell
    assert edited != content
    path.write_bytes(edited)
    with pytest.raises(ArtifactError, match="does not match the seal in its metadata"):
        load(path)


def _rewritten(dense_artifacts, tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """The tflite-int8 artifact with its embedded metadata rewritten (no seal: edited by another tool)."""
    source = dense_artifacts["tflite-int8"].artifact
    metadata = json.loads(source.with_suffix(".json").read_text())
    essentials = {k: metadata[k] for k in ("kind", "schema_version", "format", "mode", "contract", "class_names")}
    path = tmp_path / "edited.tflite"
    path.write_bytes(embed_tflite_metadata(source.read_bytes(), change(essentials)))
    return path


def _set(data: dict, dotted: str, value: object) -> dict:  # type: ignore[type-arg]
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contract.preprocessing.scale", -0.00392, "'contract.preprocessing.scale' must be finite and above 0"),
        ("contract.preprocessing.scale", float("nan"), "'contract' is invalid"),
        ("contract.preprocessing.scale", "1/255", "'contract' is invalid"),
        ("contract.preprocessing", {"kind": "scale", "offset": 0.0, "scale": [1, "x"]}, "'contract' is invalid"),
        ("contract.class_names", [str(i) for i in range(11)], "the contract names 11 classes, the model outputs 10"),
        ("contract.class_names", 7, "'contract' is invalid"),
        ("contract.input_shape", "28x28", "'contract' is invalid: contract is malformed"),
        ("mode", "int4", "field 'mode' must be one of none, float16, dynamic, int8"),
        ("format", "onnx", "field 'format' says 'onnx', but the file is tflite"),
        ("schema_version", 99, "field 'schema_version' is 99"),
        ("kind", "someone.else", "field 'kind' must be 'edgekit.artifact'"),
    ],
)
def test_invalid_metadata_names_the_field(field: str, value, message: str, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _rewritten(dense_artifacts, tmp_path, lambda m: _set(m, field, value))
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "x.npy")])
    assert result.exit_code == 1 and no_bug(result) and result.stderr.startswith("error: ")


def test_metadata_that_is_not_an_object_or_not_json(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import onnx

    path = _rewritten(dense_artifacts, tmp_path, lambda m: [m])
    with pytest.raises(ArtifactError, match="must be a JSON object, got list"):
        load(path)
    proto = onnx.load(dense_artifacts["onnx-float32"].artifact)
    for value, why in (("{not json", "JSONDecodeError"), (b"\xff\xfe".decode("latin-1"), "JSONDecodeError")):
        for prop in proto.metadata_props:
            if prop.key == "edgekit":
                prop.value = value
        onnx.save(proto, tmp_path / "bad.onnx")
        with pytest.raises(ArtifactError, match=f"embedded edgekit metadata is not valid JSON \\({why}\\)"):
            load(tmp_path / "bad.onnx")


def test_a_sidecar_that_disagrees_with_the_embedded_copy(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(dense_artifacts, "tflite-int8", tmp_path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    sidecar["contract"]["class_names"] = list(reversed(sidecar["contract"]["class_names"]))  # shuffled names
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(ArtifactError, match=r"sidecar tflite-int8\.json disagrees with the metadata embedded in"):
        load(path)


def test_a_damaged_sidecar_is_set_aside_with_a_note(dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(dense_artifacts, "tflite-int8", tmp_path)
    path.with_suffix(".json").write_text('{"kind": "edgekit.arti')  # truncated
    model = load(path)  # the file carries its own metadata, sealed
    assert model.integrity.how == "embedded seal" and "is damaged (JSONDecodeError); it was ignored" in model.notes[0]
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "x.npy")])
    assert result.exit_code == 0 and "note: " in result.stderr and "it was ignored" in result.stderr


@pytest.mark.parametrize("threads", ["0", "257", "100000", "3000000000"])
def test_thread_counts_out_of_range_are_usage_errors(threads: str, dense_artifacts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    for name in ("tflite-int8", "onnx-float32"):
        args = ["predict", str(dense_artifacts[name].artifact), str(tmp_path / "x.npy"), "--threads", threads]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "--threads must be between 1 and 256" in result.output and len(result.output) < 400  # no model bytes
    with pytest.raises(UsageError):
        load(dense_artifacts["tflite-int8"].artifact, num_threads=0)


def test_model_files_that_are_not_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tflite"
    os.mkfifo(fifo)
    np.save(tmp_path / "x.npy", np.zeros((28, 28), np.uint8))
    for path, message in ((fifo, "is a FIFO"), (Path("/dev/zero"), "a character device"), (tmp_path, "a folder")):
        result = runner.invoke(app, ["predict", str(path), str(tmp_path / "x.npy")])
        assert result.exit_code == 1 and message in result.stderr and no_bug(result)
    (tmp_path / "zero.tflite").symlink_to("/dev/zero")
    with pytest.raises(ArtifactError, match="a character device, not a regular file"):
        load(tmp_path / "zero.tflite")


def test_an_interpreter_failing_at_first_use_is_one_line(dense_artifacts, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    model = load(dense_artifacts["tflite-float32"].artifact)

    def broken() -> None:
        raise RuntimeError("XNNPACK: unsupported zero point\nstack frame 1\nstack frame 2")

    monkeypatch.setattr(model.session, "_invoke", broken)
    with pytest.raises(ArtifactError, match=r"failed to run the model: XNNPACK: unsupported zero point$"):
        model.run_model_inputs(np.zeros((1, 28, 28), np.float32))


def test_onnxruntime_prints_stay_off_stdout(dense_artifacts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    real = ort.InferenceSession

    def chatty(*args, **kwargs):  # type: ignore[no-untyped-def]
        print("EP Error: some provider failed. Falling back to ['CPUExecutionProvider'] and retrying.")
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", chatty)
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), np.uint8))
    args = ["predict", str(dense_artifacts["onnx-int8"].artifact), str(tmp_path / "x.npy"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["source"].endswith(f"[{i}]") for i, line in enumerate(result.stdout.splitlines())] == [
        True,
        True,
    ]
    assert "EP Error" not in result.stdout


def test_damaged_pictures_are_error_rows_never_tracebacks(tmp_path: Path) -> None:
    """A seeded mutation fuzz of small pictures in ten formats (bytes changed, cut, inserted): reading each is a
    sample or one ArtifactError. Pillow raises IndexError (GIF frames), TypeError (TIFF dimensions), zlib.error
    and more on such files; all are caught at the decode boundary."""
    import io
    import random

    from PIL import Image

    from edgekit.runtime.pictures.images import read_file

    rng, base = random.Random(1), (np.random.default_rng(0).random((40, 30)) * 255).astype(np.uint8)
    seeds = {}
    for fmt in ("PNG", "GIF", "BMP", "JPEG", "WEBP", "TIFF", "PPM", "ICO", "TGA", "PCX"):
        buffer = io.BytesIO()
        Image.fromarray(base).save(buffer, fmt)
        seeds[fmt] = buffer.getvalue()
    outcomes = {"read": 0, "refused": 0}
    for trial in range(400):
        data = bytearray(seeds[rng.choice(sorted(seeds))])
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(data))
            if rng.random() < 0.6:
                data[k] = rng.randrange(256)
            elif rng.random() < 0.5:
                del data[max(k, 1) :]
            else:
                data[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        path = tmp_path / f"{trial}.png"
        path.write_bytes(bytes(data))
        try:
            read_file(path)
            outcomes["read"] += 1
        except ArtifactError:
            outcomes["refused"] += 1
    assert outcomes["read"] + outcomes["refused"] == 400 and min(outcomes.values()) > 20, outcomes
