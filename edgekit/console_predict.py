"""How `edgekit predict` shows its rows: the contract line, a table or streamed lines, JSON, the summary.

Everything printed is escaped for rich (file names and class names are the user's) or written plainly.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from rich.table import Table

from edgekit.console import err, out, print_error


@dataclass
class Printed:
    """How many rows a predict printer wrote, and how many of them were files that failed."""

    rows: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)

    def count(self, row: Any) -> None:
        self.rows += 1
        if row.failed:
            self.failed += 1
            print_error(row.message, row.hint or "")
        elif row.notes:
            err.print(f"[yellow]note:[/] {escape(row.source)}: {escape('; '.join(row.notes))}", highlight=False)

    def summary(self) -> None:
        """One line on stderr once many samples were predicted (the rate), or some files failed."""
        if self.rows < SUMMARY_ROWS and not self.failed:
            return
        seconds = time.perf_counter() - self.started
        done = self.rows - self.failed
        rate = f" in {seconds:.1f} s ({done / max(seconds, 1e-9):,.0f}/s)" if done >= 256 else ""
        line = f"{done:,} predicted{rate}"
        err.print(escape(line + (f"; {self.failed} could not be predicted" if self.failed else "")), highlight=False)


SUMMARY_ROWS, TABLE_ROWS = 2, 100


def print_contract(model: Any) -> None:
    """The contract a model is run with, in one line on stderr, with a hint when a part is assumed; and what
    loading it noticed (a damaged sidecar set aside, metadata ignored with --no-verify)."""
    for note in model.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    err.print(f"[dim]contract: {escape(model.contract.describe())}[/]", highlight=False)
    if any(str(v).startswith("assumed") for v in model.contract.sources.values()):
        err.print(
            "[dim]hint:[/] if the model takes something else, declare it (--scale/--offset, --mean/--std, "
            "--outputs, --class-names)",
            highlight=False,
        )


def print_json_rows(rows: Iterable[Any], model: Any) -> Printed:
    """One JSON object per sample on stdout (an error object per file that failed), each with the contract."""
    printed, contract = Printed(), {"summary": model.contract.describe(), "sources": dict(model.contract.sources)}
    write = sys.stdout.write
    for row in rows:
        printed.count(row)
        write(json.dumps({**row.to_dict(), "contract": contract}, allow_nan=False) + "\n")
    printed.summary()
    return printed


def print_prediction_rows(rows: Iterable[Any], model: Any, runners_up: bool) -> Printed:
    """A table for up to TABLE_ROWS samples; beyond that, one plain line per sample as it is predicted."""
    printed, iterator, first = Printed(), iter(rows), []
    for row in iterator:
        printed.count(row)
        if not row.failed:
            first.append(row)
        if len(first) > TABLE_ROWS:
            break
    if len(first) <= TABLE_ROWS:
        if first:
            _prediction_table(first, f"{model.path.name} ({model.backend} {model.backend_version or ''})", runners_up)
        printed.summary()
        return printed
    write = sys.stdout.write
    write("image  label  class  probability" + ("  top-k" if runners_up else "") + "\n")
    for row in itertools.chain(first, (r for r in iterator if not _counted(printed, r))):
        extra = "  " + ", ".join(f"{s.class_name} {s.probability:.1%}" for s in row.top_k[1:]) if runners_up else ""
        write(f"{row.source}  {row.best.label}  {row.best.class_name}  {row.best.probability:.2%}{extra}\n")
    printed.summary()
    return printed


def _counted(printed: Printed, row: Any) -> bool:
    """Count a row; True when it was a failure (already reported on stderr)."""
    printed.count(row)
    return bool(row.failed)


def _prediction_table(rows: list[Any], title: str, runners_up: bool) -> None:
    """One row per sample (``SamplePrediction``): label, class name, probability, and the runners-up."""
    table = Table(title=escape(title))
    for column in ("image", "label", "class", "probability") + (("top-k",) if runners_up else ()):
        table.add_column(column, justify="left" if column in ("image", "class", "top-k") else "right")
    for row in rows:
        extra = (escape(", ".join(f"{s.class_name} {s.probability:.1%}" for s in row.top_k[1:])),) if runners_up else ()
        table.add_row(
            escape(row.source), str(row.best.label), escape(row.best.class_name), f"{row.best.probability:.2%}", *extra
        )
    out.print(table)
