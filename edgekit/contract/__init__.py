"""The model contract: what a classifier takes and returns, and what the user declared about it.

- :mod:`~edgekit.contract.preprocessing`: raw values -> model values;
- :mod:`~edgekit.contract.model_contract`: :class:`Contract` (shape, layout, range, preprocessing, outputs,
  classes), the one path from raw inputs to model inputs and from outputs to probabilities;
- :mod:`~edgekit.contract.declared`: ``--scale``/``--mean``/``--outputs``/``--contract FILE.toml`` and how a
  declaration meets what is inferred from the model.

numpy only: the device runtime imports this package.
"""

from edgekit.contract.declared import ContractFlags, DeclaredContract, declare, parse_class_names, parse_values, resolve
from edgekit.contract.model_contract import (
    CONTRACT_VERSION,
    MAX_CLASSES,
    PIXEL_RANGE,
    Contract,
    Layout,
    OutputKind,
    from_legacy_metadata,
    looks_like_probabilities,
    mnist_contract,
    softmax,
)
from edgekit.contract.preprocessing import Preprocessing

__all__ = [
    "CONTRACT_VERSION",
    "MAX_CLASSES",
    "PIXEL_RANGE",
    "Contract",
    "ContractFlags",
    "DeclaredContract",
    "Layout",
    "OutputKind",
    "Preprocessing",
    "declare",
    "from_legacy_metadata",
    "looks_like_probabilities",
    "mnist_contract",
    "parse_class_names",
    "parse_values",
    "resolve",
    "softmax",
]
