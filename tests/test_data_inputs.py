"""Issue #11 case 5: training data checked before TensorFlow loads, and data files read within bounds."""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgekit.bounds import load_npy
from edgekit.data import IDX_FILES, count_overlap, load_data, load_dataset
from edgekit.errors import DataError
from edgekit.idx import read_idx, write_idx
from tests.child_cli import run_cli
from tests.conftest import write_idx_dataset

# ------------------------------------------------------------------------------------- crafted files


def _npy_bytes(shape: tuple[int, ...], dtype: str, data: bytes) -> bytes:
    """A .npy whose header says ``shape``/``dtype`` and whose data is ``data`` (which need not fit)."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


def _npz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(f"{name}.npy", payload)
    return path


def _png_header(width: int, height: int, cut: int | None = None) -> bytes:
    """A PNG that declares ``width`` x ``height`` (its pixels are not there); ``cut`` truncates the IHDR."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if cut is not None:
        return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr[:cut]
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _class_folder(root: Path, odd_one: bytes | None = None, odd_name: str = "odd.png") -> Path:
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (8, 8), 40 * i).save(root / name / f"{i}.png")
    if odd_one is not None:
        (root / "a" / odd_name).write_bytes(odd_one)
    return root


# ------------------------------------------------------------------------------------------ bounds


def test_an_npz_header_claiming_71_tib_is_refused_before_allocating(tmp_path: Path) -> None:
    huge = _npz(
        tmp_path / "huge.npz",
        {"x": _npy_bytes((10**7, 10**7), "<f4", b"\0" * 16), "y": _npy_bytes((2,), "<i8", b"\0" * 16)},
    )
    with pytest.raises(DataError, match=r"member x.npy: its header claims 363\.8 TiB, more than this machine's memory"):
        load_data(huge)
    short = _npz(
        tmp_path / "short.npz", {"x": _npy_bytes((100, 28, 28), "|u1", b"\0" * 10), "y": _npy_bytes((100,), "<i8", b"")}
    )
    with pytest.raises(DataError, match="its header claims 78,400 data bytes but the file holds 10"):
        load_data(short)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': <f4,  }\n", "corrupt .npy header"),
        (b"\x93NUMPZ\x01\x00", "corrupt .npy header"),
        (b"", "corrupt .npy header"),
    ],
)
def test_a_corrupt_npy_header_is_one_data_error(tmp_path: Path, payload: bytes, message: str) -> None:
    path = _npz(tmp_path / "bad.npz", {"x": payload, "y": _npy_bytes((1,), "<i8", b"\0" * 8)})
    with pytest.raises(DataError, match=message) as info:
        load_data(path)
    assert str(path) in info.value.message and "\n" not in info.value.message
    (tmp_path / "bad.npy").write_bytes(payload)
    with pytest.raises(DataError, match=message):
        load_npy(tmp_path / "bad.npy")


def test_npz_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"cannot read .*x.npz as an \.npz archive"):
        load_data(tmp_path / "x.npz")


def test_a_20000x20000_png_is_refused_before_decoding(tmp_path: Path) -> None:
    cases = {20000: "holds more pixels than edgekit decodes", 9000: "is 9000x9000 .* more than edgekit decodes"}
    for size, message in cases.items():  # 9000x9000 passes Pillow's own limit, and even its warning
        root = _class_folder(tmp_path / str(size), _png_header(size, size))
        with pytest.raises(DataError, match=message):
            load_data(root)
    root = _class_folder(tmp_path / "ok", _png_header(64, 64))  # declared 64x64 but no real pixel data
    with pytest.raises(DataError, match="cannot read image"):
        load_data(root)


@pytest.mark.parametrize("cut", [0, 5, 12])
def test_a_png_with_a_truncated_ihdr(tmp_path: Path, cut: int) -> None:
    root = _class_folder(tmp_path / "pets", _png_header(16, 16, cut=cut))
    with pytest.raises(DataError, match=r"cannot read image .*odd\.png") as info:
        load_data(root)
    assert info.value.hint == "remove or replace the file"


def test_idx_headers_are_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x0D, 3]) + struct.pack(">III", 4_000_000_000, 4_000_000_000, 28) + b"\0" * 64)
    with pytest.raises(DataError, match=r"its header claims .* TiB, more than this machine's memory"):
        read_idx(path)
    images = np.zeros((4, 28, 28), np.uint8)
    write_idx(tmp_path / "long.gz", images)
    extra = gzip.decompress((tmp_path / "long.gz").read_bytes()) + b"trailing"
    (tmp_path / "long.gz").write_bytes(gzip.compress(extra))
    with pytest.raises(DataError, match="holds more than 3136 data bytes but its header"):
        read_idx(tmp_path / "long.gz")
    (tmp_path / "short.gz").write_bytes(gzip.compress(extra[:100]))
    with pytest.raises(DataError, match=r"holds 84 data bytes but its header \(4, 28, 28\) promises 3136"):
        read_idx(tmp_path / "short.gz")


# -------------------------------------------------------------------------------- values and labels


def _float_idx(path: Path, images: np.ndarray) -> None:
    header = bytes([0, 0, 0x0D, images.ndim]) + np.asarray(images.shape, ">u4").tobytes()
    path.write_bytes(header + images.astype(">f4").tobytes())


def test_float_idx_images_in_0_1_are_scaled_once(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path / "mnist", n_train=40, n_test=20)
    rng = np.random.default_rng(0)
    unit = rng.integers(0, 256, (40, 28, 28)).astype(np.float32) / 255  # float pixels, as some exporters write
    _float_idx(tmp_path / "mnist" / IDX_FILES["train_images"], unit)
    (tmp_path / "mnist" / f"{IDX_FILES['train_images']}.gz").unlink()
    built_in = load_dataset("mnist", tmp_path)  # --data-dir: read as the 8-bit pixels they stand for
    every = np.concatenate([built_in.train.images, built_in.validation.images])
    assert every.dtype == np.uint8 and count_overlap(every, _prints(np.rint(unit * 255).astype(np.uint8))) == 40
    from edgekit.train.fit import training_contract

    mixed = load_data(tmp_path / "mnist")  # --data: float 0..1 train beside uint8 test: both read as pixels
    assert mixed.value_range == (0.0, 255.0) and mixed.train.images.dtype == np.uint8
    assert count_overlap(mixed.train.images, _prints(np.rint(unit * 255).astype(np.uint8))) == len(mixed.train)
    assert any("the other set's pixels" in n for n in mixed.notes)
    _float_idx(tmp_path / "mnist" / IDX_FILES["test_images"], unit[:20])
    (tmp_path / "mnist" / f"{IDX_FILES['test_images']}.gz").unlink()
    floats = load_data(tmp_path / "mnist")  # every set float in 0..1: kept as floats, their range recorded
    assert floats.value_range == (0.0, 1.0) and floats.train.images.max() <= 1.0
    contract = training_contract(floats)  # the model's input is x * 1 + 0: not divided by 255 a second time
    assert contract.preprocessing.scale == 1.0 and contract.preprocessing.offset == 0.0


def _prints(images: np.ndarray) -> np.ndarray:
    from edgekit.data import fingerprints

    return fingerprints(images)


def test_keras_npz_in_the_data_dir_is_checked_not_cast(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    unit = rng.random((30, 28, 28)).astype(np.float32)
    labels = np.arange(30) % 10
    np.savez(tmp_path / "mnist.npz", x_train=unit, y_train=labels, x_test=unit[:10], y_test=labels[:10])
    dataset = load_dataset("mnist", tmp_path)
    assert dataset.test.images.max() > 200  # was cast to uint8: all 0 (black)
    np.testing.assert_array_equal(dataset.test.images, np.rint(unit[:10].astype(np.float64) * 255).astype(np.uint8))
    wide = (rng.integers(0, 300, (30, 28, 28))).astype(np.int64)
    np.savez(tmp_path / "mnist.npz", x_train=wide, y_train=labels, x_test=wide[:10], y_test=labels[:10])
    with pytest.raises(DataError, match=r"integer values 0\.\.299, outside 0\.\.255"):  # was wrapped: 299 -> 43
        load_dataset("mnist", tmp_path)
    np.savez(tmp_path / "mnist.npz", x_train=unit, y_train=labels + 5, x_test=unit[:10], y_test=labels[:10])
    with pytest.raises(DataError, match="label 10 is outside the 10 classes"):
        load_dataset("mnist", tmp_path)


def test_stratified_max_train_images_trains_on_every_class(tiny_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from edgekit.data import Split, fingerprints
    from edgekit.data.sources import DataSources
    from edgekit.train import TrainConfig, train

    order = np.argsort(tiny_dataset.train.labels, kind="stable")  # class-sorted, as the offline sample once was
    by_class = Split(tiny_dataset.train.images[order], tiny_dataset.train.labels[order])
    from dataclasses import replace

    config = TrainConfig(model="dense", dataset="mnist", epochs=1, max_train_images=100, augment=False)
    result = train(config, tmp_path / "run", sources=DataSources(preloaded=replace(tiny_dataset, train=by_class)))
    used = np.load(result.layout.fingerprints_path)
    assert len(used) == 100 and result.dataset["train_images_used"] == 100
    per_class = [count_overlap(by_class.images[by_class.labels == c], used) for c in range(10)]
    assert per_class == [10] * 10  # the first 100 of the sorted set would be 60 zeros and 40 ones
    assert fingerprints(by_class.images[:100]).size == 100


# ----------------------------------------------------------------------------- through the CLI


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def test_bad_training_data_is_one_line_before_tensorflow(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    y = np.arange(40) % 4
    files = {
        "labels-10": {"x": x, "y": y + 8},  # with class names 0..9 below: label 10 and 11 are outside
        "negative": {"x": x, "y": y - 1},
        "test-42": {"x_train": x, "y_train": y, "x_test": x[:8], "y_test": np.full(8, 42)},
        "no-train": {"x_train": x[:0], "y_train": y[:0], "x_test": x[:8], "y_test": y[:8]},
        "one-train": {"x_train": x[:1], "y_train": y[:1], "x_test": x[:8], "y_test": np.zeros(8, np.int64)},
        "no-test": {"x_train": x, "y_train": y, "x_test": x[:0], "y_test": y[:0]},
        "wide": {"x": x.astype(np.int64) * 2, "y": y},
    }
    for name, arrays in files.items():
        extra = {"class_names": np.array([str(i) for i in range(10)])} if name == "labels-10" else {}
        np.savez(tmp_path / f"{name}.npz", **arrays, **extra)
    write_idx_dataset(tmp_path / "idx-42", n_train=30, n_test=10)
    write_idx(tmp_path / "idx-42" / f"{IDX_FILES['test_labels']}.gz", np.full(10, 42, np.uint8))
    write_idx_dataset(tmp_path / "idx-fifo", n_train=30, n_test=10)
    (tmp_path / "idx-fifo" / f"{IDX_FILES['train_images']}.gz").unlink()
    _fifo(tmp_path / "idx-fifo" / IDX_FILES["train_images"])
    _class_folder(tmp_path / "folder-fifo")
    _fifo(tmp_path / "folder-fifo" / "b" / "stuck.png")
    cases = [
        (["--data", str(tmp_path / "labels-10.npz")], "label 10 is outside the 10 classes (0..9)"),
        (["--data", str(tmp_path / "negative.npz")], "label -1 is negative"),
        (["--data", str(tmp_path / "test-42.npz")], "test label 42 never occurs among the training labels (0..3)"),
        (["--data", str(tmp_path / "no-train.npz")], "has 0 training image(s); training needs at least 2"),
        (["--data", str(tmp_path / "one-train.npz")], "has 1 training image(s); training needs at least 2"),
        (["--data", str(tmp_path / "no-test.npz")], "has no test images"),
        (["--data", str(tmp_path / "wide.npz")], "integer values 0..510, outside 0..255"),
        (["--data-dir", str(tmp_path / "idx-42")], "t10k-labels-idx1-ubyte.gz: label 42 is outside the 10 classes"),
        (["--data", str(tmp_path / "idx-fifo")], "is a FIFO (named pipe), not a regular file"),
        (["--data-dir", str(tmp_path / "idx-fifo")], "is a FIFO (named pipe), not a regular file"),
        (["--data", str(tmp_path / "folder-fifo")], "stuck.png is a FIFO (named pipe), not a regular file"),
        (["--data", str(_fifo(tmp_path / "pipe.npz"))], "pipe.npz is a FIFO (named pipe), not a regular file"),
        (["--data", "/dev/zero"], "/dev/zero is a character device, not a regular file"),
    ]
    commands = [
        ["train", "--epochs", "1", "--out", str(tmp_path / f"run{i}"), *args] for i, (args, _) in enumerate(cases)
    ]
    outcomes, heavy = run_cli(commands, timeout=60)  # a FIFO that were read would block: the timeout fails it
    for outcome, (_, fragment) in zip(outcomes, cases, strict=True):
        assert outcome.is_one_line_error(1, fragment), (outcome.args, outcome.code, outcome.stderr)
    assert heavy == []  # every one refused before TensorFlow was imported
    assert not any((tmp_path / f"run{i}" / "manifest.json").exists() for i in range(len(cases)))
