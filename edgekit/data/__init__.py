"""Where images come from: built-in datasets (MNIST, Fashion-MNIST, the offline sample), IDX files, nothing else."""

from edgekit.data.datasets import (
    DATASETS, IDX_FILES, PREPROCESSING, SAMPLE_SPLIT_PER_CLASS, Dataset, DatasetName, Split, keras_cache_dir, load_dataset, preprocess,
)

__all__ = ["DATASETS", "IDX_FILES", "PREPROCESSING", "SAMPLE_SPLIT_PER_CLASS", "Dataset", "DatasetName", "Split", "keras_cache_dir",
           "load_dataset", "preprocess"]
