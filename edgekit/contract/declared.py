"""What the user declares about a model (flags or a ``--contract`` TOML file) and how it meets what is inferred.

A declared value fills in what the model cannot show; one that contradicts what the model shows is an error
naming both (:func:`resolve`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from edgekit.contract.model_contract import Contract, Layout, OutputKind
from edgekit.contract.preprocessing import Preprocessing, as_param
from edgekit.errors import UsageError


@dataclass(frozen=True, eq=False)
class DeclaredContract:
    """What the user declared (flags or a TOML file); None means 'not declared'."""

    scale: Any = None
    offset: Any = None
    mean: Any = None
    std: Any = None
    output_kind: OutputKind | None = None
    class_names: tuple[str, ...] | None = None
    layout: Layout | None = None
    origin: str = "declared"

    @property
    def preprocessing(self) -> Preprocessing | None:
        """The declared preprocessing, or None; mixing scale/offset with mean/std is a usage error."""
        scaled = self.scale is not None or self.offset is not None
        standardized = self.mean is not None or self.std is not None
        if scaled and standardized:
            raise UsageError("declare either --scale/--offset or --mean/--std, not both")
        if scaled:
            return Preprocessing.scaling(
                1.0 if self.scale is None else self.scale, 0.0 if self.offset is None else self.offset
            )
        if standardized:
            return Preprocessing.standardizing(
                0.0 if self.mean is None else self.mean, 1.0 if self.std is None else self.std
            )
        return None

    @property
    def is_empty(self) -> bool:
        return all(
            getattr(self, n) is None for n in ("scale", "offset", "mean", "std", "output_kind", "class_names", "layout")
        )

    def merged_over(self, other: DeclaredContract) -> DeclaredContract:
        """This declaration's values, falling back to ``other``'s (flags over a --contract file)."""
        names = ("scale", "offset", "mean", "std", "output_kind", "class_names", "layout")
        return DeclaredContract(
            **{n: getattr(self, n) if getattr(self, n) is not None else getattr(other, n) for n in names},
            origin=self.origin,
        )


def parse_values(text: str | float | Sequence[float] | None, name: str) -> float | np.ndarray | None:
    """A number, a comma list (one per channel) or a ``.npy`` file path -> float or array."""
    if text is None:
        return None
    if not isinstance(text, str):
        return as_param(text, name)
    text = text.strip()
    if text.lower().endswith(".npy"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"--{name} file {path} does not exist")
        try:
            return as_param(np.load(path, allow_pickle=False), name)
        except (ValueError, OSError) as exc:
            raise UsageError(f"--{name} file {path} is not a readable .npy array: {exc}") from None
    try:
        numbers = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--{name} must be a number, a comma list or a .npy file, got {text!r}") from None
    if not numbers:
        raise UsageError(f"--{name} is empty")
    return as_param(numbers[0] if len(numbers) == 1 else numbers, name)


def parse_class_names(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Class names from a file (one a line) or a comma list."""
    if text is None:
        return None
    if not isinstance(text, str):
        names = [str(n).strip() for n in text]
    elif Path(text).is_file():
        try:
            names = [line.strip() for line in Path(text).read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise UsageError(f"class-names file {text} is not UTF-8 text") from None
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--class-names names no class")
    if len(set(names)) != len(names):
        raise UsageError("--class-names lists a name twice")
    return tuple(names)


@dataclass(frozen=True)
class ContractFlags:
    """The contract options as the user typed them (``--scale`` ... ``--layout``); None means not given."""

    scale: str | None = None
    offset: str | None = None
    mean: str | None = None
    std: str | None = None
    outputs: str | None = None
    class_names: str | None = None
    layout: str | None = None


def declare(flags: ContractFlags = ContractFlags(), contract_file: Path | None = None) -> DeclaredContract:
    """The user's declaration from flags and an optional TOML file (flags win); validated, nothing heavy."""
    try:
        declared = DeclaredContract(
            scale=parse_values(flags.scale, "scale"),
            offset=parse_values(flags.offset, "offset"),
            mean=parse_values(flags.mean, "mean"),
            std=parse_values(flags.std, "std"),
            output_kind=OutputKind(flags.outputs) if flags.outputs is not None else None,
            class_names=parse_class_names(flags.class_names),
            layout=Layout(_layout_name(flags.layout)) if flags.layout is not None else None,
            origin="declared by flag",
        )
    except ValueError as exc:
        raise UsageError(str(exc), "--outputs takes logits or probabilities; --layout nhwc or nchw") from None
    if contract_file is not None:
        declared = declared.merged_over(_read_contract_file(Path(contract_file)))
    declared.preprocessing  # noqa: B018 - validates the combination early
    return declared


def _layout_name(text: str) -> str:
    names = {"nhwc": "channels_last", "nchw": "channels_first"}
    name = names.get(text.lower(), text.lower())
    if name not in names.values():
        raise UsageError(f"--layout takes nhwc or nchw, got {text!r}")
    return name


def _read_contract_file(path: Path) -> DeclaredContract:
    if not path.is_file():
        raise UsageError(f"contract file {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"contract file {path} is not valid TOML: {exc}") from None
    table = data.get("contract", data)
    keys = {"scale", "offset", "mean", "std", "outputs", "class_names", "layout"}
    table = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(set(table) - keys)
    if unknown:
        raise UsageError(f"unknown key(s) in {path}: {', '.join(unknown)}", f"known: {', '.join(sorted(keys))}")
    try:
        return DeclaredContract(
            scale=parse_values(table.get("scale"), "scale"),
            offset=parse_values(table.get("offset"), "offset"),
            mean=parse_values(table.get("mean"), "mean"),
            std=parse_values(table.get("std"), "std"),
            output_kind=OutputKind(table["outputs"]) if "outputs" in table else None,
            class_names=parse_class_names(table.get("class_names")),
            layout=Layout(_layout_name(str(table["layout"]))) if "layout" in table else None,
            origin=f"declared in {path.name}",
        )
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def resolve(
    inferred: Contract,
    declared: DeclaredContract,
    *,
    preprocessing_inferred: bool,
    output_kind_inferred: bool,
    subject: str = "the model",
) -> Contract:
    """The inferred contract with the user's declaration applied.

    A declared value that contradicts something ``subject`` itself shows (``*_inferred``) is an error
    naming both; a declaration over a default or a run manifest's record simply wins.
    """
    sources = dict(inferred.sources)
    pre = declared.preprocessing
    if pre is not None:
        if preprocessing_inferred and pre != inferred.preprocessing:
            raise UsageError(
                f"declared preprocessing {pre.describe()} contradicts {subject}: "
                f"{inferred.preprocessing.describe()} ({sources.get('preprocessing', 'inferred')})",
                "drop the flag: the model normalises its input itself",
            )
        sources["preprocessing"] = declared.origin
    kind = declared.output_kind
    if kind is not None:
        if output_kind_inferred and kind is not inferred.output_kind:
            raise UsageError(
                f"--outputs {kind.value} contradicts {subject}, whose outputs are "
                f"{inferred.output_kind.value} ({sources.get('output_kind', 'inferred')})"
            )
        sources["output_kind"] = declared.origin
    names = declared.class_names
    if names is not None:
        if len(names) != inferred.num_classes:
            raise UsageError(f"{len(names)} class names declared for a model with {inferred.num_classes} outputs")
        sources["class_names"] = declared.origin
    if declared.layout is not None:
        sources["layout"] = declared.origin
    return Contract(
        input_shape=inferred.input_shape,
        class_names=names or inferred.class_names,
        preprocessing=pre if pre is not None else inferred.preprocessing,
        output_kind=kind or inferred.output_kind,
        input_range=inferred.input_range,
        layout=declared.layout or inferred.layout,
        sources=sources,
    )
