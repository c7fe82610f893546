"""Where a loaded artifact's contract comes from, first that exists:

1. the ``contract`` entry of the metadata embedded in the artifact, or of its sidecar (edgekit's own files);
2. the metadata edgekit wrote before contracts existed (preprocessing, output kind, class names);
3. what the file itself shows (``edgekit.runtime.foreign``: its tensors, a final softmax, TFLite Model
   Metadata), for artifacts edgekit did not make.

The user's declaration (``--scale`` ... ``--layout``) then fills in what is assumed; contradicting what the
file records or shows is a usage error naming both.
"""

from __future__ import annotations

from typing import Any

from edgekit.contract import Contract, DeclaredContract, from_legacy_metadata, resolve
from edgekit.errors import ArtifactError, ModelError, UsageError
from edgekit.runtime.foreign import inferred_contract
from edgekit.runtime.graph import GraphFacts
from edgekit.runtime.session import Session

FOREIGN = "read off the file"


def artifact_contract(
    session: Session, metadata: dict[str, Any], source: str, facts: GraphFacts | None, declared: DeclaredContract
) -> tuple[Contract, str]:
    """(contract, where it came from) for a loaded artifact; see the module docstring."""
    item = tuple(session.input.shape[1:])
    try:
        if isinstance(metadata.get("contract"), dict):
            recorded = Contract.from_dict(metadata["contract"]), f"{source} metadata: contract"
            return _declared_over(*recorded, declared, shown=(True, True))
        if any(k in metadata for k in ("preprocessing", "output_kind", "class_names")):
            legacy = from_legacy_metadata(metadata, item), f"{source} metadata: pre-contract fields"
            return _declared_over(*legacy, declared, shown=(True, True))
    except ModelError as exc:
        raise ArtifactError(f"{session.path}: {source} metadata: {exc.message}", exc.hint) from None
    try:
        contract, pre_shown, kind_shown = inferred_contract(session.input, session.output, facts, declared.layout)
    except ArtifactError as exc:
        raise ArtifactError(f"{session.path}: {exc.message}", exc.hint) from None
    return _declared_over(contract, FOREIGN, declared, shown=(pre_shown, kind_shown))


def _declared_over(
    contract: Contract, source: str, declared: DeclaredContract, shown: tuple[bool, bool]
) -> tuple[Contract, str]:
    """The user's declaration over the artifact's contract; what the artifact records or shows about itself
    (``shown``: its preprocessing, its output kind) cannot be contradicted, assumptions can."""
    if declared.is_empty:
        return contract, source
    try:
        resolved = resolve(
            contract,
            declared,
            preprocessing_inferred=shown[0],
            output_kind_inferred=shown[1],
            subject=f"the artifact ({source})" if source == FOREIGN else f"the artifact's {source}",
        )
    except UsageError as exc:
        raise UsageError(exc.message, "drop the flag, or convert again with it") from None
    return resolved, f"{source}; {declared.origin}"
