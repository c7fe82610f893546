"""What a model file shows about itself, read from its bytes before any interpreter sees them.

Each format's reader (named in the format table, ``FormatSpec.graph_reader``) returns one :class:`GraphFacts`:
how many inputs and outputs the graph has, which operator produces the output (looked through the
quantize / reshape / cast steps that follow a softmax), the custom operators it needs, how it is
quantized (for files without edgekit's metadata, whose mode is not recorded), and, for TFLite, the
standard TFLite Model Metadata when the file carries it. The contract of an artifact edgekit did not
make is built from these facts (``edgekit.runtime.foreign``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgekit.errors import ArtifactError
from edgekit.formats import FORMATS, Format

SOFTMAX_OPS = ("SOFTMAX", "Softmax")


@dataclass(frozen=True)
class GraphFacts:
    """The facts of one model graph that edgekit uses (see the module docstring)."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    output_producer: str | None  # the operator behind the output, past quantize/reshape/cast steps
    custom_ops: tuple[str, ...] = ()
    standard_metadata: Any = None  # a runtime.model_metadata.StandardMetadata (TFLite Model Metadata)
    quantization: str | None = None  # what the graph's tensors and ops say: a formats.Quantization value
    notes: tuple[str, ...] = field(default=())

    @property
    def ends_in_softmax(self) -> bool:
        return self.output_producer in SOFTMAX_OPS


def read_graph(fmt: Format, content: bytes, name: str) -> GraphFacts | None:
    """The graph facts of a model file, or None when this install cannot read them (no schema module).

    A file whose structure cannot be walked is an ArtifactError naming it.
    """
    try:
        return FORMATS[fmt].load_graph_reader()(content)
    except ArtifactError as exc:
        raise ArtifactError(f"{name}: {exc.message}", exc.hint) from None


def check_single_io(facts: GraphFacts, name: str) -> None:
    """edgekit runs classifiers with one input and one output; anything else is one clear error."""
    if len(facts.inputs) == 1 and len(facts.outputs) == 1:
        return

    def listed(names: tuple[str, ...]) -> str:
        shown = ", ".join(repr(n) for n in names[:4]) + (", ..." if len(names) > 4 else "")
        return f"{len(names)} ({shown})" if names else "0"

    raise ArtifactError(
        f"{name} has {listed(facts.inputs)} inputs and {listed(facts.outputs)} outputs; "
        "edgekit runs single-input, single-output classifiers",
        "export the classifier alone (one image tensor in, one score vector out)",
    )
