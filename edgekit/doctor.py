"""`edgekit doctor`: what is installed, whether it works together, and how to fix what does not."""

from __future__ import annotations

import importlib
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from edgekit.versions import package_version

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"

# What each extra needs, as (distribution, import name); a distribution in a tuple is any-of.
EXTRAS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "base": [
        (("numpy",), "numpy"),
        (("typer",), "typer"),
        (("rich",), "rich"),
        (("pillow",), "PIL"),
        (("ai-edge-litert",), "ai_edge_litert.interpreter"),
    ],
    "onnx": [(("onnxruntime",), "onnxruntime")],
    "train": [
        (("tensorflow-cpu", "tensorflow"), "tensorflow"),
        (("keras",), "keras"),
        (("tf2onnx",), "tf2onnx"),
        (("onnx",), "onnx"),
        (("onnxruntime",), "onnxruntime"),
        (("matplotlib",), "matplotlib"),
        (("mlxtend",), "mlxtend.data"),
    ],
    "test": [(("pytest",), "pytest")],
}

REPORTED = (
    "numpy",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "tf-keras",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "ai-edge-litert",
    "tflite-runtime",
    "protobuf",
    "typer",
    "rich",
    "pillow",
    "matplotlib",
    "mlxtend",
)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: str  # ok, warn, fail
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """Everything `edgekit doctor` found."""

    edgekit: str
    python: str
    platform: str
    versions: dict[str, str | None]
    extras: dict[str, str]  # extra -> "complete", "partial" or "absent"
    gpu: str
    checks: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}


def _major_minor(v: str | None) -> tuple[int, int] | None:
    if not v:
        return None
    parts = v.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None


def _try_import(module: str) -> str | None:
    """None when the module imports, else the error text."""
    try:
        if module == "tensorflow":
            from edgekit.tensorflow_import import import_tensorflow

            import_tensorflow()
        else:
            importlib.import_module(module)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def extra_install(extra: str) -> str:
    """How to add an extra: edgekit is installed from a checkout or a built wheel, not the package index."""
    return f"pip install '.[{extra}]' from an edgekit checkout"


TRAIN_INSTALL = extra_install("train")


def known_bad_combinations(versions: dict[str, str | None]) -> list[Check]:
    """Version combinations that are known to break, with the fix (pure: testable on made-up versions)."""
    return [*_tflite_runtime_vs_numpy(versions), *_tensorflow_twins(versions), *_keras_vs_tensorflow(versions)]


def _tflite_runtime_vs_numpy(versions: dict[str, str | None]) -> list[Check]:
    checks: list[Check] = []
    numpy = _major_minor(versions.get("numpy"))
    if versions.get("tflite-runtime") and numpy and numpy >= (2, 0):
        checks.append(
            Check(
                "tflite-runtime + NumPy 2",
                WARN,
                f"tflite-runtime {versions['tflite-runtime']} was built against NumPy 1 and fails at Interpreter() "
                f"with NumPy {versions['numpy']}; edgekit prefers ai-edge-litert, so this only matters if forced",
                "pip uninstall -y tflite-runtime && pip install ai-edge-litert",
            )
        )
    return checks


def _tensorflow_twins(versions: dict[str, str | None]) -> list[Check]:
    checks: list[Check] = []
    if (
        versions.get("tensorflow")
        and versions.get("tensorflow-cpu")
        and versions["tensorflow"] != versions["tensorflow-cpu"]
    ):
        checks.append(
            Check(
                "tensorflow + tensorflow-cpu",
                FAIL,
                f"both tensorflow {versions['tensorflow']} and tensorflow-cpu {versions['tensorflow-cpu']} are "
                "installed; they overwrite each other's files",
                f"pip uninstall -y tensorflow tensorflow-cpu && {TRAIN_INSTALL}",
            )
        )
    return checks


def _keras_vs_tensorflow(versions: dict[str, str | None]) -> list[Check]:
    checks: list[Check] = []
    tf = versions.get("tensorflow") or versions.get("tensorflow-cpu")
    tf_mm, keras_mm = _major_minor(tf), _major_minor(versions.get("keras"))
    if tf_mm and tf_mm >= (2, 16) and keras_mm and keras_mm < (3, 0):
        checks.append(
            Check(
                "keras vs tensorflow",
                FAIL,
                f"tensorflow {tf} needs Keras 3, but keras {versions['keras']} is installed",
                "pip install 'keras>=3.10,<4'",
            )
        )
    if tf_mm and tf_mm < (2, 16) and keras_mm and keras_mm >= (3, 0):
        checks.append(
            Check(
                "keras vs tensorflow",
                FAIL,
                f"tensorflow {tf} predates Keras 3, but keras {versions['keras']} is installed",
                f"{TRAIN_INSTALL} (tensorflow-cpu 2.21 with Keras 3)",
            )
        )
    if tf and not versions.get("keras"):
        checks.append(
            Check("keras", FAIL, f"tensorflow {tf} is installed without keras", "pip install 'keras>=3.10,<4'")
        )
    if (
        versions.get("tf-keras")
        and tf
        and tf_mm
        and (versions.get("tf-keras") or "").split(".")[:2] != tf.split(".")[:2]
    ):
        checks.append(
            Check(
                "tf-keras vs tensorflow",
                WARN,
                f"tf-keras {versions['tf-keras']} does not match tensorflow {tf}; edgekit uses Keras 3, "
                "so only code that sets TF_USE_LEGACY_KERAS=1 is affected",
                f"pip install 'tf-keras~={tf_mm[0]}.{tf_mm[1]}.0' or pip uninstall tf-keras",
            )
        )
    return checks


def _gpu(versions: dict[str, str | None]) -> str:
    if not (versions.get("tensorflow") or versions.get("tensorflow-cpu")):
        return "unknown (TensorFlow not installed)"
    from edgekit.tensorflow_import import import_tensorflow

    try:
        tf = import_tensorflow()
    except Exception:
        return "unknown (TensorFlow does not import)"
    gpus = tf.config.list_physical_devices("GPU")
    return ", ".join(g.name for g in gpus) if gpus else "none visible (CPU only)"


def _extra_checks(extra: str, needs: list[tuple[tuple[str, ...], str]], imported: set[str]) -> tuple[str, list[Check]]:
    """An extra's state and its rows. Installed packages must import (else FAIL); a missing package fails
    only for the base install: an extra that is absent or partly there is a choice, not a fault. A module
    already in ``imported`` (onnxruntime is in two extras) gets no second row; the ones checked are added."""
    present = [any(package_version(d) for d in dists) for dists, _ in needs]
    state = "complete" if all(present) else ("partial" if any(present) else "absent")
    checks = []
    missing = [dists[0] for (dists, _), here in zip(needs, present, strict=True) if not here]
    if missing and extra == "base":
        checks.append(Check("base: not installed", FAIL, ", ".join(missing), f"pip install {' '.join(missing)}"))
    elif missing and state == "partial":
        checks.append(
            Check(
                f"{extra}: not installed",
                INFO,
                ", ".join(missing),
                extra_install(extra),
            )
        )
    for (_, module), here in zip(needs, present, strict=True):
        if here and module not in imported:
            imported.add(module)
            error = _try_import(module)
            checks.append(Check(f"{extra}: import {module}", FAIL if error else OK, error or "imports"))
    return state, checks


def run_doctor() -> DoctorReport:
    """Inspect the installation; never raises for a broken one, it reports it."""
    from edgekit import __version__

    versions = {name: package_version(name) for name in REPORTED}
    checks: list[Check] = []
    extras: dict[str, str] = {}
    imported: set[str] = set()
    for extra, needs in EXTRAS.items():
        extras[extra], rows = _extra_checks(extra, needs, imported)
        checks.extend(rows)
    checks.extend(known_bad_combinations(versions))
    return DoctorReport(
        edgekit=__version__,
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        versions=versions,
        extras=extras,
        gpu=_gpu(versions),
        checks=checks,
    )
