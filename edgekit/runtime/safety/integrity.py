"""Is this artifact the file edgekit wrote? Two checks, both before any interpreter sees the bytes.

- **The sidecar's sha256** (``NAME.json`` beside the artifact records the file's sha256): recomputed and
  compared; a mismatch names both hashes.
- **The seal in the embedded metadata**, for an artifact travelling without its sidecar: edgekit embeds its
  metadata with ``content_sha256`` set to 64 zeros, hashes the whole file, and writes that hash over the
  zeros (same length, so nothing else moves). To check, the hash is put back to zeros and the file hashed
  again. The seal covers the weights, the graph and the metadata itself: a flipped weight byte or an edited
  preprocessing offset breaks it. (It is a checksum, not a signature: whoever can write the file can reseal
  it. It catches damage and edits, not an attacker.)

A file with neither (made by another tool, or by an edgekit older than the seal) is unverified: it loads.
Whether any file may be opened in-process at all is ``runtime.safety.admission``'s question, hashes or not (a resealed
hostile file has a matching seal). ``verify=False`` (``--no-verify``) skips these checks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.errors import ArtifactError
from edgekit.manifests import CONTENT_KEY, PLACEHOLDER

_SEAL = re.compile(rb'"content_sha256": "([0-9a-f]{64})"')
_PLACEHOLDER_BYTES = f'"{CONTENT_KEY}": "{PLACEHOLDER}"'.encode()
NO_VERIFY_HINT = "the file is damaged or was edited; convert it again, or pass --no-verify to run it anyway"


def seal(content: bytes) -> tuple[bytes, str]:
    """The artifact bytes with the placeholder seal replaced by the file's hash, and that hash."""
    if content.count(_PLACEHOLDER_BYTES) != 1:
        raise ValueError("the embedded metadata must hold exactly one content_sha256 placeholder")
    digest = hashlib.sha256(content).hexdigest()
    return content.replace(_PLACEHOLDER_BYTES, f'"{CONTENT_KEY}": "{digest}"'.encode()), digest


def _seal_matches(content: bytes) -> tuple[str, str] | None:
    """(recorded, actual) content hashes when the file carries one seal, else None."""
    found = list(_SEAL.finditer(content))
    if len(found) != 1:
        return None
    recorded = found[0].group(1).decode()
    start, end = found[0].span()
    actual = hashlib.sha256(content[:start] + _PLACEHOLDER_BYTES + content[end:]).hexdigest()
    return recorded, actual


@dataclass(frozen=True)
class Integrity:
    """What was checked: ``verified`` means a recorded hash matched."""

    verified: bool
    how: str  # "sidecar sha256", "embedded seal", "not checked (--no-verify)", "nothing to check against"


def check_integrity(
    content: bytes, path: Path, sidecar: dict[str, Any] | None, verify: bool, sha256: str | None = None
) -> Integrity:
    """Compare the file with the hashes recorded for it; a mismatch is one ArtifactError naming both.
    ``sha256``: the content's, when the caller has it already."""
    if not verify:
        return Integrity(False, "not checked (--no-verify)")
    recorded = sidecar.get("sha256") if sidecar else None
    if isinstance(recorded, str) and recorded:
        actual = sha256 or hashlib.sha256(content).hexdigest()
        if actual != recorded:
            raise ArtifactError(
                f"{path} does not match its sidecar: sha256 {actual[:16]}... but {path.with_suffix('.json').name} "
                f"records {recorded[:16]}...",
                NO_VERIFY_HINT,
            )
        return Integrity(True, "sidecar sha256")
    sealed = _seal_matches(content)
    if sealed is None:
        return Integrity(False, "nothing to check against")
    if sealed[0] != sealed[1]:
        raise ArtifactError(
            f"{path} does not match the seal in its metadata: content sha256 {sealed[1][:16]}... but the file "
            f"records {sealed[0][:16]}...",
            NO_VERIFY_HINT,
        )
    return Integrity(True, "embedded seal")
