"""--data / --calibration-data: class folders, .npz, IDX folders, digits; checks, splits, subsets, fingerprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgekit.contract import Contract, Preprocessing, mnist_contract
from edgekit.data import Dataset, Split, check_trainable, count_overlap, fingerprints, load_data, stratified_subset
from edgekit.errors import DataError, UsageError
from tests.conftest import write_idx_dataset

RGB_CONTRACT = Contract(input_shape=(16, 16, 3), class_names=("cat", "dog"))
GRAY_CONTRACT = Contract(input_shape=(16, 16, 1), class_names=("cat", "dog"))


def _write_pngs(folder: Path, name: str, count: int, mode: str, size: tuple[int, int], value: int) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    fill = value if mode == "L" else (value, 0, 255 - value)
    for i in range(count):
        Image.new(mode, size, fill).save(folder / name / f"{i:03d}.png")


@pytest.fixture()
def pet_folder(tmp_path: Path) -> Path:
    """20 cats (RGB 24x20) and 10 dogs (L 12x12): different modes and sizes."""
    root = tmp_path / "pets"
    _write_pngs(root, "cat", 20, "RGB", (24, 20), 200)
    _write_pngs(root, "dog", 10, "L", (12, 12), 50)
    (root / "cat" / ".DS_Store").write_bytes(b"junk")  # hidden: skipped
    return root


def test_class_folders_resized_to_an_rgb_contract(pet_folder: Path) -> None:
    ds = load_data(pet_folder, contract=RGB_CONTRACT)
    assert (ds.name, ds.source, ds.class_names) == ("pets", "folder", ("cat", "dog"))
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (24, 3, 3)
    assert ds.train.images.shape[1:] == (16, 16, 3) and ds.train.images.dtype == np.uint8
    everything = np.concatenate([ds.split(s).labels for s in ("train", "validation", "test")])
    assert np.bincount(everything).tolist() == [20, 10]
    cats = ds.train.images[ds.train.labels == 0]
    assert cats[0, 8, 8].tolist() == [200, 0, 55]
    dogs = ds.train.images[ds.train.labels == 1]
    assert dogs[0, 8, 8].tolist() == [50, 50, 50]  # grayscale read as RGB for an RGB model
    assert ds.value_range == (0.0, 255.0)
    assert "stratified 80/10/10" in ds.split_note and "seed 20240601" in ds.to_dict()["split_note"]
    assert any("resized to 16x16" in n for n in ds.notes)


def test_class_folders_to_a_gray_contract_and_same_split_twice(pet_folder: Path) -> None:
    ds = load_data(pet_folder, contract=GRAY_CONTRACT)
    assert ds.train.images.shape[1:] == (16, 16)
    cat = ds.train.images[ds.train.labels == 0][0, 8, 8]
    assert cat == round(0.299 * 200 + 0.114 * 55)  # Pillow's L conversion of (200, 0, 55)
    again = load_data(pet_folder, contract=GRAY_CONTRACT)
    np.testing.assert_array_equal(again.test.labels, ds.test.labels)
    np.testing.assert_array_equal(again.test.images, ds.test.images)


def test_class_folders_map_by_name_to_the_contract(tmp_path: Path) -> None:
    _write_pngs(tmp_path / "d", "dog", 10, "L", (16, 16), 9)  # only one of the model's classes
    ds = load_data(tmp_path / "d", contract=GRAY_CONTRACT)
    assert ds.class_names == ("cat", "dog") and set(ds.train.labels.tolist()) == {1}


def test_class_folder_outside_the_class_list(tmp_path: Path) -> None:
    for name in ("cat", "dog", "emu"):
        _write_pngs(tmp_path / "z", name, 3, "L", (16, 16), 9)
    with pytest.raises(DataError, match="class folder 'emu' is not one of the model's 2 classes"):
        load_data(tmp_path / "z", contract=GRAY_CONTRACT)


def test_class_folders_without_contract_need_one_size(pet_folder: Path) -> None:
    with pytest.raises(DataError, match=r"is 12x12 but .* is 24x20"):
        load_data(pet_folder)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("flat", "holds files but no class subfolders"),
        ("empty", "is empty"),
        ("empty-class", "holds no images"),
        ("broken", "cannot read image .*002.png"),
    ],
)
def test_bad_folders_are_one_clear_error(tmp_path: Path, layout: str, message: str) -> None:
    root = tmp_path / "imgs"
    root.mkdir()
    if layout == "flat":
        Image.new("L", (8, 8)).save(root / "a.png")
    elif layout == "empty-class":
        (root / "cat").mkdir()
    elif layout == "broken":
        _write_pngs(root, "cat", 2, "L", (8, 8), 1)
        (root / "cat" / "002.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=message) as info:
        load_data(root)
    assert "\n" not in info.value.message
    if layout == "flat":
        assert "one subfolder per class" in info.value.hint


def test_npz_one_set_float_unit_range_scaled_for_an_8bit_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((50, 28, 28, 1)).astype(np.float32)
    y = np.arange(50) % 10
    np.savez(tmp_path / "unit.npz", x=x, y=y, class_names=np.array([f"c{i}" for i in range(10)]))
    ds = load_data(tmp_path / "unit.npz", contract=mnist_contract())
    assert ds.name == "unit" and ds.source == "npz"
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (40, 5, 5)
    assert ds.train.images.dtype == np.uint8 and ds.train.images.shape[1:] == (28, 28)
    assert any("0..1 scaled to 0..255" in n for n in ds.notes)
    expected = np.rint(x[..., 0].astype(np.float64) * 255).astype(np.uint8)
    every = np.concatenate([ds.split(s).images for s in ("train", "validation", "test")])
    assert count_overlap(every, fingerprints(expected)) == 50
    assert ds.class_names == mnist_contract().class_names  # labels index the model's classes
    assert any("class names differ from the model's" in n for n in ds.notes)


def test_npz_floats_without_contract_kept_as_they_are(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 30 * 4, dtype=np.float32).reshape(30, 4)
    np.savez(tmp_path / "f.npz", x=x, y=np.arange(30) % 3)
    ds = load_data(tmp_path / "f.npz")
    assert ds.train.images.dtype == np.float32 and ds.value_range == (0.0, 1.0)
    assert ds.class_names == ("0", "1", "2") and np.isin(ds.test.images, x).all()


def test_npz_train_test_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "tt.npz",
        x_train=rng.integers(0, 256, (100, 28, 28), dtype=np.int64),
        y_train=np.sort(np.arange(100) % 10),
        x_test=np.zeros((20, 28, 28), np.uint8),
        y_test=np.arange(20) % 10,
    )
    ds = load_data(tmp_path / "tt.npz", contract=mnist_contract())
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (90, 10, 20)
    assert np.bincount(ds.validation.labels).tolist() == [1] * 10  # stratified, not the last ten of a sorted set
    assert ds.split_note.startswith("given as train and test sets; validation = stratified 10% of train")
    assert ds.train.images.dtype == np.uint8


def test_idx_folder(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path / "idx", n_train=60, n_test=20)
    ds = load_data(tmp_path / "idx", contract=Contract(input_shape=(28, 28, 1), class_names=tuple("abcdefghij")))
    assert (ds.source, len(ds.train), len(ds.validation), len(ds.test)) == ("idx", 54, 6, 20)
    assert ds.class_names[9] == "j" and ds.train.images.shape[1:] == (28, 28)


@pytest.mark.parametrize(
    ("x", "y", "contract", "message"),
    [
        (
            np.zeros((10, 16, 16, 3), np.uint8),
            np.arange(10) % 2,
            GRAY_CONTRACT,
            r"holds 3-channel images \(16x16x3\); the model takes 1-channel images \(16x16\)",
        ),
        (np.zeros((10, 16, 16), np.uint8), np.arange(10) % 2, RGB_CONTRACT, "holds 1-channel images .* 3-channel"),
        (np.zeros((10, 16, 16), np.uint8), np.arange(10) % 3, GRAY_CONTRACT, "label 2 is outside the 2 classes"),
        (
            np.full((10, 16, 16), 300, np.int64),
            np.arange(10) % 2,
            GRAY_CONTRACT,
            "integer values 300..300, outside 0..255",
        ),
        (np.full((10, 16, 16), 300, np.int64), np.arange(10) % 2, None, "outside 0..255"),
        (np.full((10, 16, 16), 2.5, np.float32), np.arange(10) % 2, None, None),
        (
            np.zeros((10, 12, 12), np.uint8),
            np.arange(10) % 2,
            GRAY_CONTRACT,
            "holds 12x12 images; the model takes 16x16",
        ),
        (np.zeros((10, 16, 16), np.uint8), np.arange(10) % 2 + 0.5, GRAY_CONTRACT, "not class indices"),
    ],
)
def test_npz_checked_against_the_contract(
    tmp_path: Path, x: np.ndarray, y: np.ndarray, contract: Contract | None, message: str | None
) -> None:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    if message is None:  # floats outside 0..1 without a model: kept, their range recorded
        assert load_data(tmp_path / "d.npz").value_range == (0.0, 255.0)
        return
    with pytest.raises(DataError, match=message) as info:
        load_data(tmp_path / "d.npz", contract=contract)
    assert str(tmp_path / "d.npz") in info.value.message


def test_npz_refuses_pickles_and_unknown_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "p.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match=r"cannot read .* as an \.npz"):
        load_data(tmp_path / "p.npz")
    np.savez(tmp_path / "k.npz", images=np.zeros((3, 4)))
    with pytest.raises(DataError, match="holds images") as info:
        load_data(tmp_path / "k.npz")
    assert "x_train" in info.value.hint


def test_unknown_source_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither a file or folder") as info:
        load_data("cifar10")
    assert "digits" in info.value.hint and "fashion-mnist" in info.value.hint
    (tmp_path / "a.csv").write_text("1,2")
    with pytest.raises(DataError, match="not a data file"):
        load_data(tmp_path / "a.csv")


def test_digits_builtin_is_real_and_split_deterministically() -> None:
    ds = load_data("digits")
    assert (ds.name, ds.source, ds.is_full) == ("digits", "sklearn-digits", True)
    assert ds.train.images.shape[1:] == (8, 8) and ds.train.images.dtype == np.float32
    assert ds.value_range == (0.0, 16.0) and ds.train.images.max() == 16.0 and ds.train.images.min() == 0.0
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (1437, 180, 180)
    assert ds.class_names == tuple(str(d) for d in range(10))
    assert all(17 <= c <= 19 for c in np.bincount(ds.test.labels))  # stratified
    assert count_overlap(ds.test.images, fingerprints(ds.train.images)) == 0
    again = load_data("digits")
    np.testing.assert_array_equal(again.test.images, ds.test.images)
    np.testing.assert_array_equal(again.train.labels, ds.train.labels)
    digits_contract = Contract(
        input_shape=(8, 8),
        class_names=ds.class_names,
        input_range=(0.0, 16.0),
        preprocessing=Preprocessing.scaling(1 / 16, 0),
    )
    assert load_data("digits", contract=digits_contract).value_range == (0.0, 16.0)
    with pytest.raises(DataError, match="holds 8x8 images; the model takes 28x28"):
        load_data("digits", contract=mnist_contract())


def test_stratified_subset_of_the_class_sorted_sample_has_every_digit(sample_dataset: Dataset) -> None:
    order = np.argsort(sample_dataset.train.labels, kind="stable")
    class_sorted = sample_dataset.train.take(order)
    subset = stratified_subset(class_sorted, 100, seed=3)
    assert len(subset) == 100 and np.bincount(subset.labels).tolist() == [10] * 10
    small = stratified_subset(class_sorted, 13, seed=3)
    assert sorted(set(small.labels.tolist())) == list(range(10)) and len(small) == 13
    assert stratified_subset(class_sorted, 10**6) is class_sorted
    with pytest.raises(UsageError, match="cannot hold all 10 classes"):
        stratified_subset(class_sorted, 9)


def test_fingerprints_find_training_images(sample_dataset: Dataset) -> None:
    import time

    start = time.perf_counter()
    train_prints = fingerprints(sample_dataset.train.images)
    assert time.perf_counter() - start < 1.0
    assert train_prints.dtype == np.uint64 and len(set(train_prints.tolist())) == len(sample_dataset.train)
    assert count_overlap(sample_dataset.train.images, train_prints) == len(sample_dataset.train)
    assert count_overlap(sample_dataset.test.images, train_prints) == 0
    assert count_overlap(sample_dataset.train.images[:7].astype(np.int64), train_prints) == 7
    np.testing.assert_array_equal(fingerprints(sample_dataset.train.images[:5]), train_prints[:5])


def _tiny(train: int, val: int, test: int, label: int = 0) -> Dataset:
    def split(n: int) -> Split:
        return Split(np.zeros((n, 4, 4), np.uint8), np.full(n, label))

    return Dataset("tiny", ("a", "b"), "npz", "t.npz", True, split(train), split(val), split(test))


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (_tiny(1, 1, 1), "1 training image"),
        (_tiny(0, 1, 1), "0 training image"),
        (_tiny(5, 1, 0), "no test images"),
        (_tiny(5, 0, 1), "no validation images"),
        (_tiny(5, 1, 1, label=2), "label 2 is outside the 2 classes"),
    ],
)
def test_check_trainable_refuses_before_training(dataset: Dataset, message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_trainable(dataset, 2)
    check_trainable(_tiny(2, 1, 1), 2)


def test_dataset_name_is_a_plain_string(sample_dataset: Dataset) -> None:
    assert type(sample_dataset.name) is str and f"{sample_dataset.name}" == "mnist"
    assert sample_dataset.train.labels.dtype == np.int64
    record = sample_dataset.to_dict()
    assert record["value_range"] == [0.0, 255.0] and record["image_shape"] == [28, 28]
    assert record["split_note"] == "one set, stratified 360/40/100 train/validation/test per class, seed 20240601"
