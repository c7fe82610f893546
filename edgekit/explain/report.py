"""explain.md, explain.json and the Model Explorer overlays: what a person reads, and what a tool reads.

The overlay is Model Explorer's node data, as ai-edge-quantizer writes it beside a comparison
(``{"results": {tensor: {"value": v}}, "thresholds": [{"value": t, "bgColor": c}, ...]}``): each matched
tensor carries its SQNR in dB, and a node whose value is at most a threshold takes that threshold's colour,
so the graph turns from green to red where the error comes in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from edgekit.files import ensure_dir, write_bytes_atomic, write_json_atomic
from edgekit.layout import ExplainLayout

if TYPE_CHECKING:
    from edgekit.explain.artifact import ArtifactExplanation, LayerRow
    from edgekit.explain.result import ExplainResult


# SQNR (dB) upper bounds -> colour, worst first: under 10 dB red ... above 60 dB green
OVERLAY_THRESHOLDS = (
    (10, "rgb(220, 40, 30)"),
    (20, "rgb(240, 120, 40)"),
    (30, "rgb(250, 190, 60)"),
    (45, "rgb(220, 230, 90)"),
    (60, "rgb(160, 220, 110)"),
    (1000, "rgb(90, 190, 110)"),
)


def overlay(explanation: ArtifactExplanation) -> dict[str, Any]:
    """The Model Explorer node-data overlay of one artifact (tensor name -> SQNR in dB)."""
    return {
        "results": {r.tensor: {"value": round(r.sqnr_db, 2)} for r in explanation.rows},
        "thresholds": [{"value": value, "bgColor": colour} for value, colour in OVERLAY_THRESHOLDS],
    }


def write_outputs(result: ExplainResult, plots: bool, seconds: float) -> ExplainResult:
    """Write every file of ``result`` into its folder; the result names them and carries the total time."""
    layout = ExplainLayout(ensure_dir(result.out_dir))
    files = {"markdown": layout.markdown.name, "json": layout.json.name}
    for explanation in result.explanations:
        path = layout.overlay(explanation.name)
        write_json_atomic(path, overlay(explanation))
        files[f"model_explorer:{explanation.name}"] = path.name
    if plots:
        from edgekit.explain.plot import sqnr_plot

        sqnr_plot([name for name, _ in result.layers], result.explanations, layout.plot)
        files["plot"] = layout.plot.name
    result = replace(result, seconds=seconds, files=files)
    write_json_atomic(layout.json, result.to_dict())
    write_bytes_atomic(layout.markdown, render_markdown(result).encode("utf-8"))
    return result


def _db(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def summary_rows(result: ExplainResult) -> tuple[list[str], list[list[str]]]:
    """Layers in model order x artifacts: SQNR in dB, the layer adding the most error marked with '<'."""
    table = []
    for layer, kind in result.layers:
        cells = [layer, kind]
        for explanation in result.explanations:
            row = next((r for r in explanation.rows if r.layer == layer), None)
            cells.append("-" if row is None else _db(row.sqnr_db) + (" <" if row.worst else ""))
        table.append(cells)
    return ["layer", "kind", *(e.name for e in result.explanations)], table


def render_markdown(result: ExplainResult) -> str:
    """The whole explain.md."""
    d = result.dataset
    header, table = summary_rows(result)
    lines = [
        f"# edgekit explain: {result.model}",
        "",
        f"{d['images']} held-out images ({d['name']} {d['split']} split, selection seed {d['selection_seed']}), "
        f"through the model contract; {len(result.explanations)} artifact(s) in {result.seconds:.1f} s.",
        "",
        "SQNR in dB of each layer's output against the Keras layer's (200 = identical; `-`: no tensor to compare, "
        "see the artifact's section). `<` marks, per artifact, the layer that adds the most error, when that "
        "error is above -60 dB; the added error also reads the feature SQNR (the median unit's), shown in the "
        "artifact's section.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cells) + " |" for cells in table),
    ]
    if "plot" in result.files:
        lines += ["", f"![SQNR by layer]({result.files['plot']})"]
    for name, why in result.skipped_layers:
        lines.append(f"- Keras layer `{name}` not tapped: {why}")
    for explanation in result.explanations:
        lines += _artifact_section(explanation, result.files.get(f"model_explorer:{explanation.name}"))
    return "\n".join(lines) + "\n"


def _artifact_section(explanation: ArtifactExplanation, overlay_file: str | None) -> list[str]:
    worst = explanation.worst
    lines = [
        "",
        f"## {explanation.name} ({explanation.mode})",
        "",
        f"Adds the most error: `{worst.layer}` (added SQNR {worst.added_sqnr_db:.1f} dB; its tensor SQNR "
        f"{worst.sqnr_db:.1f} dB, feature SQNR {worst.feature_sqnr_db:.1f} dB)."
        if worst is not None and worst.added_sqnr_db is not None
        else "No layer adds error above -60 dB.",
        "",
        "| layer | SQNR dB | feature dB | Δ dB | added dB | cosine | max abs err | mean abs err | rmse/scale | match "
        "| tensor |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row_cells(row) for row in explanation.rows]
    lines += [f"- `{u.layer}` not matched: {u.reason}" for u in explanation.unmatched]
    if overlay_file:
        lines += ["", f"Model Explorer overlay: [{overlay_file}]({overlay_file})"]
    return lines


def _row_cells(row: LayerRow) -> str:
    ratio = "-" if row.rmse_over_scale is None else f"{row.rmse_over_scale:.3f}"
    layer = f"**{row.layer}** <" if row.worst else row.layer
    tensor = row.tensor if len(row.tensor) <= 60 else row.tensor[:57] + "..."
    decibels = (row.sqnr_db, row.feature_sqnr_db, row.delta_sqnr_db, row.added_sqnr_db)
    return (
        f"| {layer} | {' | '.join(_db(v) for v in decibels)} | {row.cosine:.6f} | "
        f"{row.max_abs_error:.3g} | {row.mean_abs_error:.3g} | {ratio} | {row.match} | `{tensor}` |"
    )
