"""The Markdown section on what each artifact costs a device: MACs, peak memory, and where its time goes."""

from __future__ import annotations

from edgekit.benchmarks.costs import MEMORY_METHOD
from edgekit.benchmarks.results import BenchReport
from edgekit.benchmarks.rows import ArtifactResult

TOP_OPS = 3


def macs_text(macs: int) -> str:
    """437,888 -> 437.9 K; 12,345,678 -> 12.35 M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if macs >= size:
            return f"{macs / size:.{2 if unit != 'K' else 1}f} {unit}"
    return str(macs)


def memory_text(row: ArtifactResult, heap: bool = True) -> str:
    """ "10.6 MiB (2.1 heap)", or "-" when not measured."""
    m = row.memory
    if m is None:
        return "-"
    return f"{m.peak_mb:.1f} MiB" + (f" ({m.heap_mb:.1f} heap)" if heap and m.heap_mb is not None else "")


def top_ops_text(row: ArtifactResult, count: int = TOP_OPS, untimed: bool = True) -> str:
    """ "CONV_2D 61%, ADD 12%, MUL 9%" ("-" without a profile)."""
    p = row.op_profile
    if p is None:
        return "-"
    shown = ", ".join(f"{o.op} {o.share:.0%}" for o in p.ops[:count])
    return shown + (f"; not timed alone: {', '.join(p.untimed)}" if untimed and p.untimed else "")


def costs_section(report: BenchReport) -> list[str]:
    """One row per artifact: MACs, peak memory, the slowest op types; how each was measured; explain's pointer."""
    rows = report.artifacts
    if not any(r.macs or r.memory or r.op_profile for r in rows):
        return []
    lines = [
        "",
        "## What each artifact costs a device",
        "",
        "| artifact | MACs / image | peak memory | slowest op types (share of op time, batch 1) | op time sum |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        macs = macs_text(row.macs.total) if row.macs else "-"
        profiled = f"{row.op_profile.ops_ms * 1000:.1f} us" if row.op_profile else "-"
        lines.append(f"| `{row.name}` | {macs} | {memory_text(row)} | {top_ops_text(row)} | {profiled} |")
    lines += ["", _measured_how(rows)]
    if report.reference.is_keras:
        files = " ".join(r.file for r in rows if r.op_profile)
        explain = f"`edgekit explain {report.run_dir} {files}`"
        lines += ["", f"Per-layer error beside these ops (which layer drifts): {explain}"]
    return lines


def _measured_how(rows: tuple[ArtifactResult, ...]) -> str:
    methods = sorted({r.op_profile.method for r in rows if r.op_profile})
    text = (
        "MACs are counted from each artifact's graph (convolutions, fully connected, matrix products; "
        "elementwise ops and pooling count zero). "
    )
    if any(r.memory for r in rows):
        text += f"Peak memory: {MEMORY_METHOD}. "
    if methods:
        text += "Op time: " + "; ".join(methods) + "."
    else:
        text += "Memory and op time were not measured (`--no-profile`)."
    return text
