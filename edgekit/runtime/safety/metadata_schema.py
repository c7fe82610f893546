"""The schema of the metadata edgekit embeds in an artifact (and writes in its sidecar), checked on load.

Every field is type- and range-checked before anything uses it: a known kind and schema version, the
format the file really is, a known quantization mode, a contract that parses (finite preprocessing, a
scale and a std above 0, class names that are strings), the legacy fields of older files. An invalid field
is one ArtifactError naming it. When an artifact has both, the sidecar must agree with the embedded copy on
everything that decides how the model is run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from edgekit.contract import Contract, OutputKind
from edgekit.errors import ArtifactError, EdgekitError
from edgekit.formats import Format, Quantization
from edgekit.manifests import ARTIFACT_KIND, ARTIFACT_SCHEMA_VERSION

KNOWN_VERSIONS = tuple(range(1, ARTIFACT_SCHEMA_VERSION + 1))
AGREEING_FIELDS = ("format", "mode", "contract", "class_names", "output_kind", "preprocessing", "source_model_sha256")


def _fail(where: str, field: str, why: str, hint: str | None = None) -> ArtifactError:
    return ArtifactError(
        f"{where}: field {field!r} {why}",
        hint or "the metadata is damaged or was edited; convert the model again (or pass --no-verify to try anyway)",
    )


def _positive(values: Any) -> bool:
    array = np.asarray(values, dtype=np.float64)
    return bool(array.size) and bool(np.isfinite(array).all()) and bool((array > 0).all())


def _check_contract(data: Any, where: str) -> None:
    if not isinstance(data, Mapping):
        raise _fail(where, "contract", f"must be an object, got {type(data).__name__}")
    try:
        contract = Contract.from_dict(data)
    except EdgekitError as exc:
        raise _fail(where, "contract", f"is invalid: {exc.message}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(where, "contract", f"is malformed ({type(exc).__name__}: {exc})") from None
    pre = contract.preprocessing
    if pre.kind == "scale" and not _positive(pre.scale):
        raise _fail(where, "contract.preprocessing.scale", "must be finite and above 0")
    names = data.get("class_names")
    if any(not isinstance(n, str) or not n for n in names or ()):
        raise _fail(where, "contract.class_names", "must be non-empty strings")


def _check_legacy(metadata: Mapping[str, Any], where: str) -> None:
    pre = metadata.get("preprocessing")
    if pre is not None:
        if not isinstance(pre, Mapping):
            raise _fail(where, "preprocessing", f"must be an object, got {type(pre).__name__}")
        for key in ("scale", "offset", "mean", "std"):
            value = pre.get(key)
            if value is not None and (
                isinstance(value, (bool, str)) or not isinstance(value, (int, float, list)) or not _finite(value)
            ):
                raise _fail(where, f"preprocessing.{key}", f"must be a finite number or list of numbers, got {value!r}")
        if pre.get("kind", "scale") == "scale" and "scale" in pre and not _positive(pre["scale"]):
            raise _fail(where, "preprocessing.scale", "must be finite and above 0")
    names = metadata.get("class_names")
    if names is not None and (not isinstance(names, list) or any(not isinstance(n, str) or not n for n in names)):
        raise _fail(where, "class_names", "must be a list of non-empty strings")
    kind = metadata.get("output_kind")
    if kind is not None and kind not in [k.value for k in OutputKind]:
        raise _fail(where, "output_kind", f"must be logits or probabilities, got {kind!r}")


def _finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(np.asarray(value, dtype=np.float64)).all())
    except (TypeError, ValueError):
        return False


def validate_metadata(metadata: Any, where: str, fmt: Format) -> dict[str, Any]:
    """``metadata`` checked against the schema (see the module docstring); ``where`` names it in errors."""
    if not isinstance(metadata, dict):
        raise _fail(where, "(root)", f"must be a JSON object, got {type(metadata).__name__}")
    kind, version = metadata.get("kind", ARTIFACT_KIND), metadata.get("schema_version", 1)
    if kind != ARTIFACT_KIND:
        raise _fail(where, "kind", f"must be {ARTIFACT_KIND!r}, got {kind!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version not in KNOWN_VERSIONS:
        newer = isinstance(version, int) and version > ARTIFACT_SCHEMA_VERSION
        raise _fail(where, "schema_version", f"is {version!r}", "upgrade edgekit" if newer else None)
    if "format" in metadata and metadata["format"] != fmt.value:
        raise _fail(where, "format", f"says {metadata['format']!r}, but the file is {fmt.value}")
    if "mode" in metadata and metadata["mode"] not in [m.value for m in Quantization]:
        raise _fail(
            where, "mode", f"must be one of {', '.join(m.value for m in Quantization)}, got {metadata['mode']!r}"
        )
    if "contract" in metadata:
        _check_contract(metadata["contract"], where)
    _check_legacy(metadata, where)
    return metadata


def check_agreement(embedded: Mapping[str, Any], sidecar: Mapping[str, Any], artifact: str, sidecar_name: str) -> None:
    """The sidecar and the embedded metadata must describe the same model, the same way."""
    for field in AGREEING_FIELDS:
        if field in embedded and field in sidecar and not _same(embedded[field], sidecar[field]):
            raise ArtifactError(
                f"the sidecar {sidecar_name} disagrees with the metadata embedded in {artifact} on {field!r}",
                "the sidecar belongs to another artifact, or one of them was edited: delete the sidecar "
                "(the file carries its own metadata) or convert again",
            )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)
