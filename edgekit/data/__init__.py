"""Where images come from: built-in datasets (MNIST, Fashion-MNIST, the offline sample, digits), class folders,
.npz and IDX files; how they are split, checked against a model's contract, and fingerprinted. Nothing else."""

from edgekit.data.conform import Conformed, conform_images, conform_labels
from edgekit.data.datasets import DATASETS, IDX_FILES, DatasetName, keras_cache_dir, load_dataset
from edgekit.data.digits import load_digits_dataset
from edgekit.data.fingerprints import count_overlap, fingerprints
from edgekit.data.sample import SAMPLE_SPLIT_PER_CLASS
from edgekit.data.splits import (
    SPLIT_SEED,
    Dataset,
    Split,
    carve_validation,
    check_labels,
    check_trainable,
    split_three_ways,
    stratified_subset,
)
from edgekit.data.user import KNOWN_DATASETS, load_data

__all__ = [
    "DATASETS",
    "IDX_FILES",
    "KNOWN_DATASETS",
    "SAMPLE_SPLIT_PER_CLASS",
    "SPLIT_SEED",
    "Conformed",
    "Dataset",
    "DatasetName",
    "Split",
    "carve_validation",
    "check_labels",
    "check_trainable",
    "conform_images",
    "conform_labels",
    "count_overlap",
    "fingerprints",
    "keras_cache_dir",
    "load_data",
    "load_dataset",
    "load_digits_dataset",
    "split_three_ways",
    "stratified_subset",
]
