"""Structural fuzzing (issue 11): seeded mutants of real small models go through ``edgekit.runtime.load`` and
``predict`` in a child process. Whatever the bytes, the process never dies by a signal, never hangs and
never shows a traceback: each file is refused with one edgekit error line naming it, or loads and predicts.

The default run mutates the two tiny .tflite models of tests/fuzz_tflite.py (built with the schema
builder, no TensorFlow) and the tiny ONNX model of tests/fuzz_onnx.py; the slow run also mutates edgekit's
converted artifacts, resealed (a seal is a checksum: whoever writes a file can redo it, so the mutants pass the
integrity check and meet the structural check and the probe), and runs the bare interpreter on the same
.tflite mutants to show what they do without edgekit's guards.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgekit.manifests import CONTENT_KEY, PLACEHOLDER
from edgekit.runtime.safety.integrity import seal
from tests import fuzz_onnx, fuzz_tflite
from tests.fuzz_runner import Outcome, run_files

FAILURES = ("signal", "hang", "traceback")
_SEALED = re.compile(rb'"content_sha256": "[0-9a-f]{64}"')


def _resealed(content: bytes) -> bytes:
    """What anyone who can write the file does to pass the integrity check: put the placeholder back, seal."""
    if len(_SEALED.findall(content)) != 1:
        return content
    return seal(_SEALED.sub(f'"{CONTENT_KEY}": "{PLACEHOLDER}"'.encode(), content))[0]


def _write(folder: Path, seeds: dict[str, bytes], count: int, mutate: Callable, suffix: str) -> list[Path]:  # type: ignore[type-arg]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    paths, log = [], []
    for i in range(count):
        name = list(seeds)[i % len(seeds)]
        content, what = mutate(seeds[name], rng)
        path = folder / f"{i:05d}-{name}{suffix}"
        path.write_bytes(_resealed(content))  # edgekit's artifacts carry a seal: the mutants carry a valid one
        paths.append(path)
        log.append(f"{path.name}\t{what}")
    (folder / "mutations.tsv").write_text("\n".join(log) + "\n")
    return paths


def _check(outcomes: list[Outcome], total: int) -> Counter[str]:
    counts = Counter(o.kind for o in outcomes)
    failures = [f"{Path(o.path).name}: {o.kind}: {o.detail}" for o in outcomes if o.kind in FAILURES]
    assert failures == [], "\n".join(failures[:10])
    assert sum(counts.values()) == total
    for o in outcomes:  # edgekit's own errors: one line; the guards' errors also name the file
        assert "\n" not in o.detail and (o.path in o.detail or o.kind not in ("validator", "probe")), o
    return counts


def _report(label: str, counts: Counter[str]) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    line = f"{label}: {sum(counts.values())} trials: {parts}"
    print(line)
    return line


ENV = {"EDGEKIT_PROBE_TIMEOUT": "10"}  # a hang shows as the probe's error well before the runner's deadline


def test_fuzzed_models_never_crash_the_process(tmp_path: Path) -> None:
    """About 30 s of CPU on the 2-core dev machine: 600 .tflite and 24 ONNX mutants."""
    tflite_seeds = {"float": fuzz_tflite.float_model(), "int8": fuzz_tflite.int8_model()}
    tflite = _write(tmp_path / "tflite", tflite_seeds, 600, fuzz_tflite.mutant, ".tflite")
    onnx = _write(tmp_path / "onnx", {"tiny": fuzz_onnx.tiny_model()}, 24, fuzz_onnx.mutant, ".onnx")
    counts = _check(run_files("edgekit", tflite + onnx, timeout=30, env=ENV), len(tflite) + len(onnx))
    _report("edgekit load+predict", counts)
    # every path is exercised: refused by the structural check, refused by the probe, loaded and predicted
    assert counts["validator"] >= 300 and counts["probe"] >= 5 and counts["loaded"] >= 50


def _artifact_seeds(artifacts: dict, suffix: str) -> dict[str, bytes]:  # type: ignore[type-arg]
    return {n: r.artifact.read_bytes() for n, r in artifacts.items() if r.artifact.suffix == suffix}


@pytest.mark.slow
def test_long_fuzz_of_converted_artifacts(tmp_path: Path, dense_artifacts, cnn_artifacts) -> None:  # type: ignore[no-untyped-def]
    """3,000 .tflite and 200 ONNX mutants, also of edgekit's converted artifacts (about 3 min of CPU here)."""
    tflite_seeds = {"float": fuzz_tflite.float_model(), "int8": fuzz_tflite.int8_model()}
    onnx_seeds = {"tiny": fuzz_onnx.tiny_model()}
    for prefix, artifacts in (("dense-", dense_artifacts), ("cnn-", cnn_artifacts)):
        tflite_seeds |= {prefix + k: v for k, v in _artifact_seeds(artifacts, ".tflite").items()}
        onnx_seeds |= {prefix + k: v for k, v in _artifact_seeds(artifacts, ".onnx").items()}
    tflite = _write(tmp_path / "tflite", tflite_seeds, 3000, fuzz_tflite.mutant, ".tflite")
    onnx = _write(tmp_path / "onnx", onnx_seeds, 200, fuzz_onnx.mutant, ".onnx")
    raw = Counter(o.kind for o in run_files("raw", tflite, timeout=30))
    _report("bare LiteRT interpreter (.tflite mutants)", raw)
    outcomes = run_files("edgekit", tflite + onnx, timeout=30, env=ENV)
    counts = _check(outcomes, len(tflite) + len(onnx))
    _report("edgekit load+predict", counts)
    assert raw["signal"] >= 10  # the mutants are hostile: without the guards they kill the interpreter
    assert not [o for o in outcomes if "does not match the seal" in o.detail]  # resealed: the hash check passes
    assert counts["validator"] > 0 and counts["probe"] > 0 and counts["loaded"] > 0
