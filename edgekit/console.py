"""How the CLI shows things: the rich progress reporter and the result tables (no library logic here)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from edgekit.benchmarks.results import BenchReport

# Off a terminal (CI logs, pipes) rich would fold tables at 80 columns; COLUMNS still wins when set.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140)
err = Console(stderr=True, soft_wrap=True)  # errors and notes stay one line each, whatever the width


def print_error(message: str, hint: str = "") -> None:
    """An error in one line, and its hint; both are plain text (escaped: hints hold [extras] and paths)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if hint:
        err.print(f"[dim]hint:[/] {escape(hint)}", highlight=False)


def loading_status(message: str) -> contextlib.AbstractContextManager[None]:
    """A line while something slow loads (a spinner could not draw: native start-up output is silenced)."""
    err.print(f"[dim]{escape(message)}[/]", highlight=False)
    return contextlib.nullcontext()


class RichReporter:
    """The CLI's Reporter: a rich progress bar for tasks, yellow lines on stderr for notices."""

    def __init__(self, console: Console = err) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, description: str, total: int | None) -> None:
        self.finish()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, info="")

    def advance(self, steps: int = 1, info: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=steps, info=info)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def notice(self, message: str) -> None:
        self.console.print(f"[yellow]note:[/] {escape(message)}", highlight=False)


def print_train_result(result: Any) -> None:
    """The summary table at the end of a training run."""
    table = Table(
        title=escape(f"{result.model} on {result.dataset['name']} ({result.dataset['source']}), {result.device}")
    )
    for column in ("params", "epochs", "best", "train acc", "val acc", "test acc", "time"):
        table.add_column(column, justify="right", no_wrap=True)
    m = result.metrics
    table.add_row(
        f"{result.params:,}",
        str(result.epochs_run),
        str(result.best_epoch),
        f"{m['train_accuracy']:.2%}",
        f"{m['val_accuracy']:.2%}",
        f"{m['test_accuracy']:.2%}",
        f"{result.seconds:.1f} s",
    )
    out.print(table)
    out.print(
        escape(f"run folder: {result.run_dir}  (model {result.model_path.name}, manifest {result.manifest_path.name})")
    )


def print_conversions(results: list[Any]) -> None:
    """Artifact, size, ratio to float32, parity figures and time, one row each."""
    float_sizes = {r.format: r.size_bytes for r in results if r.mode.value == "none"}
    table = Table(title="artifacts")
    kind = next((r.parity.get("output_kind", "logits") for r in results if r.parity), "logits")
    diff = "max |dlogit|" if kind == "logits" else "max |dprob|"
    for column in ("artifact", "size", "vs f32", "agree", "acc (keras)", diff, "time", "parity"):
        table.add_column(column, justify="right" if column != "artifact" else "left", no_wrap=True)
    for r in results:
        base = float_sizes.get(r.format)
        p = r.parity or {}
        table.add_row(
            escape(r.artifact.name),
            f"{r.size_bytes / 1024:,.0f} KiB",
            f"{r.size_bytes / base:.2f}x" if base else "-",
            f"{p['agreement']:.2%}" if p else "-",
            f"{p['artifact_accuracy']:.2%} ({p['reference_accuracy']:.2%})" if p else "-",
            f"{p['max_abs_output_diff']:.1e}" if p else "-",
            f"{r.seconds:.1f} s",
            "[green]ok[/]" if p and not r.parity_failures else ("[red]FAIL[/]" if p else "skipped"),
        )
    out.print(table)
    for r in results:
        if r.fallback:  # --allow-float-fallback: what full integer missed, each step tried, the one kept
            first, kept = r.fallback[0], next(t for t in r.fallback if t.kept)
            steps = ", ".join(
                f"{t.step} ({t.agreement:.1%})" if t.made else f"{t.step} (not made: {t.failures[0]})"
                for t in r.fallback[1:]
            )
            missed = f"{first.step} missed its band ({'; '.join(first.failures)})"
            out.print(escape(f"{r.name}: {missed}; tried {steps}; kept {kept.step}"))
    for r in results:
        if r.verdict:  # an int8 outside its band: the layer that loses it and what to try
            out.print(escape(f"{r.name}: {r.verdict}"))
    if results:
        out.print(escape(f"artifacts in {results[0].artifact.parent}"))


def print_bench(report: BenchReport) -> None:
    """One row per artifact: size, accuracy, drift, latency at the smallest batch, gate."""
    small, ref, data = report.config.smallest_batch, report.reference, report.dataset
    if ref.is_keras:
        title = f"{report.model}: Keras {ref.accuracy:.2%} on {data.images} {data.split} images"
        title += f"; Keras predict p50 {ref.predict_latency[small].p50_ms:.2f} ms at batch {small} ({ref.device})"
    else:
        title = (
            f"{len(report.artifacts)} artifacts on {data.images} {data.split} images; no Keras model: drift is "
            f"against {ref.name} ({ref.accuracy:.2%})"
        )
    table = Table(title=escape(title))
    from edgekit.benchmarks.report_costs import macs_text, memory_text, top_ops_text

    columns = ("artifact", "size", "accuracy", "Δ pts", "agree", f"p50 b{small}", f"p90 b{small}", "MACs", "peak mem")
    for column in (*columns, "top op", "gate"):
        table.add_column(column, justify="left" if column == "artifact" else "right", no_wrap=True)
    for row in report.artifacts:
        d, lat = row.drift, row.latency[small]
        table.add_row(
            escape(row.name) + (" [yellow]stale[/]" if row.stale else ""),
            f"{row.size_bytes / 1024:,.0f} KiB",
            f"{d.accuracy:.2%}",
            f"{d.accuracy_delta_points:+.2f}",
            f"{d.agreement:.2%}",
            f"{lat.p50_ms * 1000:,.1f} us",
            f"{lat.p90_ms * 1000:,.1f} us",
            macs_text(row.macs.total) if row.macs else "-",
            memory_text(row, heap=False),
            escape(top_ops_text(row, 1, untimed=False)),
            "[red]breach[/]" if row.breaches else "[green]ok[/]",
        )
    out.print(table)
    for row in report.artifacts:
        if row.stale:
            err.print(f"[yellow]note:[/] {escape(row.name)} is stale: {escape(row.stale)}", highlight=False)


def print_doctor(report: Any) -> None:
    """Versions, extras and every check with its fix (every value escaped: fixes hold [extras])."""
    from edgekit.doctor import FAIL, INFO, WARN

    out.print(escape(f"edgekit {report.edgekit}, Python {report.python} on {report.platform}; GPU: {report.gpu}"))
    versions = Table(title="libraries", show_header=False)
    for name, v in report.versions.items():
        versions.add_row(name, escape(v) if v else "[dim]not installed[/]")
    out.print(versions)
    out.print("extras: " + escape(", ".join(f"{k} {v}" for k, v in report.extras.items())))
    checks = Table(title="checks")
    for column in ("check", "status", "detail", "fix"):
        checks.add_column(column, overflow="fold")
    colour = {FAIL: "red", WARN: "yellow", INFO: "cyan"}
    for c in report.checks:
        checks.add_row(
            escape(c.name), f"[{colour.get(c.status, 'green')}]{c.status}[/]", escape(c.detail), escape(c.fix)
        )
    out.print(checks)


def print_explain(result: Any) -> None:
    """Layers in model order x artifacts (SQNR in dB, the layer adding the most error marked), then what
    each artifact's worst layer is and which layers could not be matched."""
    from edgekit.explain.report import summary_rows

    header, rows = summary_rows(result)
    d = result.dataset
    table = Table(title=escape(f"SQNR (dB) vs Keras by layer, {d['images']} {d['name']} {d['split']} images"))
    for column in header:
        table.add_column(escape(column), justify="left" if column in ("layer", "kind") else "right", no_wrap=True)
    for cells in rows:
        table.add_row(*(f"[bold red]{escape(c)}[/]" if c.endswith(" <") else escape(c) for c in cells))
    out.print(table)
    for e in result.explanations:
        worst = (
            f"adds the most error: {e.worst.layer} ({e.worst.added_sqnr_db:.1f} dB)"
            if e.worst
            else "no layer stands out"
        )
        unmatched = "; ".join(f"{u.layer}: {u.reason}" for u in e.unmatched)
        out.print(escape(f"{e.name}: {worst}" + (f"; not matched: {unmatched}" if unmatched else "")))
