"""``--data`` and ``--calibration-data``: one entry, :func:`load_data`, for every place images come from.

A source is a path (an existing file or folder wins over a name) or a dataset edgekit knows (``mnist``,
``fashion-mnist``, ``digits``). Paths may be:

- a folder with one subfolder per class (sorted names are the class names), read with Pillow;
- an ``.npz`` holding ``x``/``y`` (one set) or ``x_train``/``y_train``/``x_test``/``y_test``, and
  optionally ``class_names``;
- a folder holding the four standard IDX files (``.gz`` or plain).

With a contract the images are checked and adapted to the model (see :mod:`edgekit.data.conform`).
One set is split stratified 80/10/10 with a fixed seed; given train/test sets keep their test set and
give a stratified tenth of train to validation. ``Dataset.split_note`` records which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.bounds import check_npz, regular_file
from edgekit.contract import Contract
from edgekit.data.conform import common_scale, conform_images, conform_labels
from edgekit.data.datasets import DatasetName, _find_idx_set, load_dataset
from edgekit.data.digits import DIGITS_NAME, load_digits_dataset
from edgekit.data.folders import read_class_folders
from edgekit.data.splits import Dataset, Split, carve_validation, split_three_ways
from edgekit.errors import DataError
from edgekit.idx import read_idx
from edgekit.progress import Reporter

KNOWN_DATASETS = (*(d.value for d in DatasetName), DIGITS_NAME)
LAYOUTS_HINT = (
    "give a folder with one subfolder per class, an .npz with x/y or x_train/y_train/x_test/y_test, "
    f"a folder with the four IDX files, or one of: {', '.join(KNOWN_DATASETS)}"
)


def load_data(
    source: str | Path,
    *,
    contract: Contract | None = None,
    reporter: Reporter | None = None,
    offline: bool | None = None,
) -> Dataset:
    """The dataset ``source`` names, checked against ``contract`` when given (see the module docstring)."""
    path = Path(source)
    if path.is_dir():
        idx_files = _find_idx_set(path)
        if idx_files is not None:
            return _load_idx_folder(path, idx_files, contract)
        return _load_class_folders(path, contract)
    if path.exists():
        regular_file(path)  # a FIFO or a device would block or never end
        if path.suffix.lower() != ".npz":
            raise DataError(f"{path} is not a data file edgekit reads", LAYOUTS_HINT)
        return _load_npz(path, contract)
    if str(source) in KNOWN_DATASETS:
        if str(source) == DIGITS_NAME:
            return _conform_dataset(load_digits_dataset(), contract)
        return _conform_dataset(load_dataset(str(source), offline=offline, reporter=reporter), contract)
    raise DataError(f"{source} is neither a file or folder nor a dataset edgekit knows", LAYOUTS_HINT)


def _conform_dataset(dataset: Dataset, contract: Contract | None) -> Dataset:
    """A built-in dataset checked against a model: its images shaped and ranged, its labels in range."""
    if contract is None:
        return dataset
    notes = list(dataset.notes)
    splits, value_range = {}, contract.input_range
    for name in ("train", "validation", "test"):
        split = dataset.split(name)
        conformed = conform_images(split.images, f"{dataset.name} {name} split", contract)
        labels = conform_labels(split.labels, len(split), contract.num_classes, f"{dataset.name} {name} split")
        splits[name], value_range = Split(conformed.images, labels), conformed.value_range
        notes += [n for n in conformed.notes if n not in notes]
    if dataset.class_names != contract.class_names:
        notes.append(f"{dataset.name}'s class names read as the model's: {', '.join(contract.class_names[:10])}")
    return Dataset(
        dataset.name,
        contract.class_names,
        dataset.source,
        dataset.location,
        dataset.is_full,
        splits["train"],
        splits["validation"],
        splits["test"],
        tuple(notes),
        value_range=value_range,
        split_note=dataset.split_note,
    )


def _assemble(
    path: Path,
    source: str,
    sets: dict[str, tuple[Any, Any]],
    class_names: tuple[str, ...] | None,
    contract: Contract | None,
    notes: list[str],
) -> Dataset:
    """A Dataset from one set ("all") or given "train" and "test" sets, checked and split."""
    given = contract.num_classes if contract is not None else (len(class_names) if class_names else None)
    labels = {k: conform_labels(y, len(np.asarray(x)), given, f"{path} {k}") for k, (x, y) in sets.items()}
    if given is None and "test" in labels:
        _test_classes_seen_in_training(labels["train"], labels["test"], path)
    num_classes = given or max(int(y.max(initial=-1)) + 1 for y in labels.values())
    names = contract.class_names if contract is not None else class_names or tuple(str(i) for i in range(num_classes))
    conformed = common_scale({k: conform_images(x, f"{path} {k}", contract) for k, (x, _) in sets.items()}, str(path))
    shapes = {c.images.shape[1:] for c in conformed.values()}
    if len(shapes) > 1:
        raise DataError(f"{path}: train and test images differ in shape ({', '.join(str(s) for s in shapes)})")
    for c in conformed.values():
        notes += [n for n in c.notes if n not in notes]
    lows, highs = zip(*(c.value_range for c in conformed.values()), strict=True)
    splits = {k: Split(conformed[k].images, labels[k]) for k in sets}
    if "all" in splits:
        train, validation, test, split_note = split_three_ways(splits["all"])
    else:
        train, validation, how = carve_validation(splits["train"])
        test, split_note = splits["test"], f"given as train and test sets; {how}"
    return Dataset(
        path.stem if path.is_file() else path.name,
        names,
        source,
        str(path),
        True,
        train,
        validation,
        test,
        tuple(notes),
        value_range=(min(lows), max(highs)),
        split_note=split_note,
    )


def _test_classes_seen_in_training(train: np.ndarray, test: np.ndarray, path: Path) -> None:
    """Without a class list, the classes are the training labels: a test label outside them is an error."""
    unseen = np.setdiff1d(test, train)
    if unseen.size and train.size:  # no training images at all: check_trainable says so
        raise DataError(
            f"{path}: test label {unseen[0]} never occurs among the training labels "
            f"({int(train.min(initial=0))}..{int(train.max(initial=0))})",
            "labels must index one class list; add class_names to the .npz, or fix the labels",
        )


def _load_npz(path: Path, contract: Contract | None) -> Dataset:
    check_npz(path)  # every header against the bytes behind it, before numpy allocates what it claims
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"cannot read {path} as an .npz archive: {exc}",
            "object arrays (pickles) are refused; save plain numeric arrays",
        ) from None
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        sets = {"train": (arrays["x_train"], arrays["y_train"]), "test": (arrays["x_test"], arrays["y_test"])}
    elif {"x", "y"} <= arrays.keys():
        sets = {"all": (arrays["x"], arrays["y"])}
    else:
        raise DataError(
            f"{path} holds {', '.join(sorted(arrays)) or 'no arrays'}",
            "expected x and y, or x_train, y_train, x_test and y_test",
        )
    class_names, notes = None, []
    if "class_names" in arrays:
        class_names = tuple(str(n) for n in np.asarray(arrays["class_names"]).ravel())
        if contract is not None and class_names != contract.class_names:
            notes.append(f"{path.name}'s class names differ from the model's; labels index the model's classes")
    return _assemble(path, "npz", sets, class_names, contract, notes)


def _load_idx_folder(folder: Path, files: dict[str, Path], contract: Contract | None) -> Dataset:
    arrays = {key: read_idx(p) for key, p in files.items()}
    sets = {kind: (arrays[f"{kind}_images"], arrays[f"{kind}_labels"]) for kind in ("train", "test")}
    return _assemble(folder, "idx", sets, None, contract, [])


def _folder_classes(
    found: tuple[str, ...], labels: np.ndarray, contract: Contract | None, folder: Path
) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Folder labels as the model's class indices: by name when every folder names a class, else in order."""
    if contract is None:
        return labels, found, []
    names = contract.class_names
    if set(found) <= set(names):
        index = {name: i for i, name in enumerate(names)}
        return np.asarray([index[n] for n in found], dtype=np.int64)[labels], names, []
    if len(found) == len(names):
        return (
            labels,
            names,
            [
                f"class folders {', '.join(found[:10])} taken in sorted order as the model's classes "
                f"{', '.join(names[:10])}"
            ],
        )
    unknown = [n for n in found if n not in names]
    raise DataError(
        f"{folder}: class folder {unknown[0]!r} is not one of the model's {len(names)} classes",
        f"the model's classes: {', '.join(names[:20])}",
    )


def _load_class_folders(folder: Path, contract: Contract | None) -> Dataset:
    found = read_class_folders(folder, contract)
    labels, names, notes = _folder_classes(found.class_names, found.labels, contract, folder)
    return _assemble(folder, "folder", {"all": (found.images, labels)}, names, contract, list(found.notes) + notes)
