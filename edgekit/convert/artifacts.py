"""The one conversion entry: a Keras model -> artifacts, each with a sidecar and parity figures."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgekit import __version__
from edgekit.contract import DeclaredContract
from edgekit.convert.inputs import SELECTION_SEED, DataSources, Prepared, load_inputs, pick
from edgekit.convert.parity import band_failures, band_for, parity_figures

# re-exported: callers import them from here and from edgekit.convert
from edgekit.convert.results import ConversionResult, ConvertOptions, FallbackTry
from edgekit.convert.reuse import unfinished_reason
from edgekit.errors import ArtifactError, OutputError, ParityError
from edgekit.files import atomic_path, ensure_dir, sha256_file, write_json_atomic
from edgekit.formats import FORMATS, Format, Quantization, check_supported
from edgekit.layout import ARTIFACTS_DIR, RunLayout, artifact_file_name, sidecar_path
from edgekit.manifests import ArtifactManifest
from edgekit.progress import Reporter, SilentReporter
from edgekit.runtime.safety.integrity import seal
from edgekit.versions import library_versions


def default_artifacts_dir(source: Path) -> Path:
    """artifacts/ of a run folder, or artifacts/ beside a model file or SavedModel folder."""
    source = Path(source)
    if source.is_dir() and RunLayout(source).model_path.is_file():
        return RunLayout(source).artifacts_dir
    return source.parent / ARTIFACTS_DIR


def convert_all(
    source: Path,
    pairs: list[tuple[Format, Quantization]],
    options: ConvertOptions | None = None,
    *,
    sources: DataSources | None = None,
    declared: DeclaredContract | None = None,
    reporter: Reporter | None = None,
) -> list[ConversionResult]:
    """Convert one model to every (format, mode) pair; the model and data are loaded once.

    Every artifact is written atomically with its sidecar. Parity is measured on held-out images
    and recorded; raise_for_parity() turns figures outside their band into an error. The int8 review
    (--allow-float-fallback's loop, the verdict on a miss) is ``edgekit.workflows.convert_all``'s.
    """
    options, reporter = options or ConvertOptions(), reporter or SilentReporter()
    options.validate()
    for fmt, mode in pairs:
        check_supported(fmt, mode)
    target = Path(options.out_dir) if options.out_dir is not None else default_artifacts_dir(source)
    mixed = [  # what --allow-float-fallback may write instead
        (f, fallback)
        for f, m in pairs
        if m is Quantization.INT8 and options.allow_float_fallback
        for fallback in (Quantization.INT8_MIXED, Quantization.INT16X8)
        if fallback in FORMATS[f].produced_modes and (f, fallback) not in pairs
    ]
    clash = [artifact_file_name(f, m) for f, m in pairs + mixed if (target / artifact_file_name(f, m)).exists()]
    for name in list(clash):
        why = unfinished_reason(target / name)
        if why is not None:  # not a finished artifact: redoing it replaces nothing the user kept
            reporter.notice(f"{why}: converting {name} again")
            clash.remove(name)
    if clash and not options.overwrite:
        raise OutputError(f"{', '.join(clash)} already exist(s) in {target}", "pass --overwrite to replace")
    from edgekit.convert.reference import load_reference

    reference = load_reference(source)
    prepared = load_inputs(reference, sources or DataSources(), declared or DeclaredContract(), reporter)
    reporter.notice(f"contract: {prepared.contract.describe()}")
    job = _Job(reference, prepared, _plan(reference, prepared, options, pairs), ensure_dir(target), options)
    results = []
    reporter.start("converting", len(pairs))
    try:
        for fmt, mode in pairs:
            results.append(_convert_one(job, fmt, mode))
            reporter.advance(1, results[-1].name)
    finally:
        reporter.finish()
    return results


def convert(
    source: Path, fmt: Format | str, mode: Quantization | str, options: ConvertOptions | None = None, **kwargs: Any
) -> ConversionResult:
    """Convert one model to one format and mode; see convert_all."""
    [result] = convert_all(source, [(Format(fmt), Quantization(mode))], options, **kwargs)
    return result


@dataclass(frozen=True)
class _Plan:
    """The inputs every artifact of one conversion shares, drawn once."""

    calibration_inputs: np.ndarray | None
    calibration: dict[str, Any] | None
    parity_inputs: np.ndarray | None
    parity_labels: np.ndarray | None
    reference_outputs: np.ndarray | None


def _plan(
    reference: Any, prepared: Prepared, options: ConvertOptions, pairs: list[tuple[Format, Quantization]]
) -> _Plan:
    contract, data, calibration_data = prepared.contract, prepared.dataset, prepared.calibration
    calibration_inputs = calibration = None
    if any(m.needs_calibration for _, m in pairs):
        pool = calibration_data.train
        idx = pick(options.calibration_samples, len(pool), "calibration")
        calibration_inputs = contract.model_input(pool.images[idx])
        calibration = {
            "dataset": calibration_data.name,
            "source": calibration_data.source,
            "split": "train",
            "count": len(idx),
            "selection_seed": SELECTION_SEED,
            "split_note": getattr(calibration_data, "split_note", ""),
        }
    parity_inputs = parity_labels = reference_outputs = None
    if options.measure_parity:
        idx = pick(min(options.parity_samples, len(data.test)), len(data.test), "parity")
        parity_inputs = contract.model_input(data.test.images[idx])
        parity_labels = np.asarray(data.test.labels[idx], dtype=np.int64)
        reference_outputs = reference.outputs(parity_inputs)
    return _Plan(calibration_inputs, calibration, parity_inputs, parity_labels, reference_outputs)


@dataclass(frozen=True)
class _Job:
    """One conversion: the reference, its data and contract, the shared inputs, where to write, how."""

    reference: Any
    prepared: Prepared
    plan: _Plan
    target: Path
    options: ConvertOptions


def _convert_one(job: _Job, fmt: Format, mode: Quantization) -> ConversionResult:
    started = time.perf_counter()
    calibration = job.plan.calibration_inputs if mode.needs_calibration else None
    content = FORMATS[fmt].load_converter()(job.reference, mode, calibration, job.options)
    review = job.options.int8_review
    if mode is Quantization.INT8 and review is not None:  # the fallback loop and the verdict (edgekit.workflows)
        return review(job, fmt, content, started)
    return keep(job, fmt, mode, content, round(time.perf_counter() - started, 3))


def keep(
    job: _Job, fmt: Format, mode: Quantization, content: bytes, seconds: float, tries: tuple[FallbackTry, ...] = ()
) -> ConversionResult:
    """Embed the metadata, write the artifact and its sidecar (atomically) with its parity figures.

    ``tries``: every candidate --allow-float-fallback tried; the one marked ``kept`` is this artifact.
    """
    artifact = job.target / artifact_file_name(fmt, mode)
    draft = _manifest(job, fmt, mode, artifact)
    float_layers = next((t.float_layers for t in tries if t.kept), ())
    if tries:
        story = {"float_layers": list(float_layers), "float_fallback": [t.to_dict() for t in tries]}
        draft = replace(draft, options={**draft.options, **story})
    content, content_sha256 = seal(FORMATS[fmt].load_embedder()(content, draft.essentials()))
    draft = replace(draft, content_sha256=content_sha256)  # the sidecar records the seal the file carries
    with atomic_path(artifact) as tmp:
        tmp.write_bytes(content)
        from edgekit.runtime import load

        try:
            loaded = load(tmp)  # the artifact must load in its own runtime before it is kept
        except ArtifactError as exc:
            from edgekit.convert.own_output import refused

            raise refused(fmt, artifact_file_name(fmt, mode), content, exc) from exc
        parity, failures = measure_parity(job, loaded, mode)
        manifest = _finish(draft, tmp, loaded, parity, seconds, content)
        write_json_atomic(sidecar_path(artifact), manifest.to_dict())
    return ConversionResult(
        fmt, mode, artifact, sidecar_path(artifact), len(content), seconds, parity, tuple(failures),
        job.prepared.contract, float_layers, tries,
    )  # fmt: skip


def _manifest(job: _Job, fmt: Format, mode: Quantization, artifact: Path) -> ArtifactManifest:
    reference, prepared, options, plan = job.reference, job.prepared, job.options, job.plan
    return ArtifactManifest(
        format=fmt.value,
        mode=mode.value,
        file=artifact.name,
        sha256="",
        size_bytes=0,
        contract=prepared.contract,
        source_model={"path": str(reference.path), "sha256": reference.sha256, "kind": reference.kind},
        input={},
        output={},
        edgekit_version=__version__,
        versions=library_versions(),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        calibration={**plan.calibration, "method": options.method_for(mode)}
        if mode.needs_calibration and plan.calibration
        else None,
        evaluation_note=prepared.evaluation_note,
        options=options.artifact_options(fmt, mode),
        runtime=FORMATS[fmt].backends[0],
        dataset=prepared.dataset.name,
    )


def measure_parity(job: _Job, loaded: Any, mode: Quantization) -> tuple[dict[str, Any] | None, list[str]]:
    """The parity figures of a loaded artifact against the reference, and how they fall outside the band."""
    plan, prepared, band = job.plan, job.prepared, band_for(mode, job.options.max_accuracy_drop)
    if plan.parity_inputs is None or plan.parity_labels is None or plan.reference_outputs is None:
        return None, []
    artifact_outputs = loaded.run_model_inputs(plan.parity_inputs).outputs
    contract = prepared.contract
    figures = parity_figures(plan.reference_outputs, artifact_outputs, plan.parity_labels, contract.output_kind)
    failures = band_failures(figures, mode, band)
    figures.update(
        {
            "dataset": prepared.dataset.name,
            "split": "test",
            "selection_seed": SELECTION_SEED,
            "band": {
                "min_agreement": band.min_agreement,
                "max_output_diff": band.max_output_diff,
                "max_accuracy_drop_points": band.max_accuracy_drop,
            },
            "ok": not failures,
            "failures": failures,
            "evaluation_note": prepared.evaluation_note,
            "overlap_with_training": prepared.overlap,
        }
    )
    return figures, failures


def _finish(
    draft: ArtifactManifest, tmp: Path, loaded: Any, parity: dict[str, Any] | None, seconds: float, content: bytes
) -> ArtifactManifest:
    inp, out = loaded.input_quant, loaded.output_quant
    return replace(
        draft,
        sha256=sha256_file(tmp),
        size_bytes=len(content),
        parity=parity,
        conversion_seconds=seconds,
        input={
            "name": loaded.input_name,
            "shape": list(loaded.input_shape),
            "dtype": str(loaded.input_dtype),
            "scale": inp[0],
            "zero_point": inp[1],
        },
        output={"name": loaded.output_name, "dtype": str(loaded.output_dtype), "scale": out[0], "zero_point": out[1]},
        **(_onnx_facts(content) if draft.format == Format.ONNX.value else {}),
    )


def _onnx_facts(content: bytes) -> dict[str, Any]:
    import onnx

    from edgekit.convert.onnx import quantization_story

    proto = onnx.load_from_string(content)
    return {
        "opset": int(next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))),
        "quantization": quantization_story(proto),
    }


def raise_for_parity(results: list[ConversionResult]) -> None:
    """ParityError naming every artifact outside its band (the artifacts stay written)."""
    bad = [f"{r.name}: {'; '.join(r.parity_failures)}" for r in results if r.parity_failures]
    if bad:
        raise ParityError(
            "parity check failed: " + " | ".join(bad),
            "artifacts were written; inspect the figures, or pass --no-parity-check",
        )
