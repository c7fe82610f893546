"""report.json and report.md: what a person reads in CI, and what a machine reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} us" if value < 1 else f"{value:.2f} ms"


def _batch(row: dict[str, Any], batch: str) -> dict[str, Any] | None:
    return (row.get("latency") or {}).get(batch)


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown report: one row per artifact, then drift, per-class, gate and environment sections."""
    batches = [str(b) for b in report["config"]["batch_sizes"]]
    small = batches[0]
    ref = report["reference"]
    lines = [
        f"# edgekit bench: {report['model']} on {report['dataset']['name']} ({report['dataset']['split']} split, "
        f"{report['dataset']['images']} images, source {report['dataset']['source']})",
        "",
        f"Keras reference on {ref['device']}: accuracy {ref['accuracy']:.2%}; `model.predict` p50 "
        + ", ".join(f"{_ms(ref['latency']['predict'][b]['p50_ms'])} (batch {b})" for b in batches)
        + "; direct call p50 "
        + ", ".join(f"{_ms(ref['latency']['call'][b]['p50_ms'])} (batch {b})" for b in batches) + "."
        + (f" `model.predict` takes {ref['predict_p50_vs_tflite_int8']:,}x as long as tflite-int8 at batch {small}."
           if ref.get("predict_p50_vs_tflite_int8") else ""),
        "",
        "Latency is one interpreter call on ready input (set_tensor + invoke + get_tensor, or session.run); "
        "`Model.predict` from uint8 images adds preprocessing (its p50 is in report.json as end_to_end_p50_ms).",
        "",
    ]
    header = ["artifact", "format", "mode", "size", "vs f32", "accuracy", "Δ acc (pts)", "agreement",
              f"p50 b{small}", f"p90 b{small}"] + [f"img/s b{b}" for b in batches] + ["backend", "gate"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report["artifacts"]:
        d, s = row["drift"], _batch(row, small)
        cells = [f"`{row['name']}`", row["format"], row["mode"], f"{row['size_bytes'] / 1024:,.0f} KiB",
                 f"{row['size_ratio_vs_float32']:.2f}x" if row["size_ratio_vs_float32"] else "-",
                 f"{d['accuracy']:.2%}", f"{d['accuracy_delta_points']:+.2f}", f"{d['agreement']:.2%}",
                 _ms(s["p50_ms"]) if s else "-", _ms(s["p90_ms"]) if s else "-"]
        cells += [f"{_batch(row, b)['images_per_second']:,.0f}" if _batch(row, b) else "-" for b in batches]
        cells += [f"{row['backend']} {row['backend_version'] or ''}".strip(),
                  "❌ " + ", ".join(b["check"] for b in row["breaches"]) if row["breaches"] else "✅"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Drift against the Keras reference", "",
              "| artifact | disagreements | max abs Δp | mean abs Δp | mean KL (nats) | p50 / best raw invoke |",
              "|---|---|---|---|---|---|"]
    for row in report["artifacts"]:
        d = row["drift"]
        shown = ", ".join(str(i) for i in d["disagreeing_indices"][:10]) + (" …" if d["disagreements"] > 10 else "")
        ratio = row.get("p50_vs_raw_invoke_best")
        lines.append(f"| `{row['name']}` | {d['disagreements']}{f' ({shown})' if shown else ''} | "
                     f"{d['max_abs_prob_diff']:.2e} | {d['mean_abs_prob_diff']:.2e} | {d['mean_kl_divergence']:.2e} | "
                     f"{f'{ratio:.2f}x' if ratio else '-'} |")
    names = report["class_names"]
    lines += ["", "## Per-class accuracy delta (points vs Keras)", "",
              "| artifact | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
              "| keras (accuracy) | " + " | ".join("-" if a is None else f"{a:.1%}" for a in ref["per_class_accuracy"]) + " |"]
    for row in report["artifacts"]:
        lines.append(f"| `{row['name']}` | " + " | ".join(
            "-" if v is None else f"{v:+.1f}" for v in row["drift"]["per_class_delta_points"]) + " |")
    gate = report["gate"]
    lines += ["", "## Gate", ""]
    if not gate["thresholds"]:
        lines.append("No thresholds set.")
    else:
        lines.append("Thresholds: " + ", ".join(f"`{k}` = {v}" for k, v in gate["thresholds"].items()) + ".")
        if gate["baseline"]:
            lines.append(f"Baseline: {gate['baseline']['path']} ({gate['baseline']['created_at']}). "
                         + (gate["baseline"]["note"] or "Same machine."))
        lines.append("")
        lines += [f"- ❌ {b['message']}" for b in gate["breaches"]] or ["✅ all thresholds met."]
    env = report["environment"]
    lines += ["", "## Environment", "",
              f"{env['cpu_model']}, {env['cpu_cores']} cores, {env['threads']} thread(s) per interpreter, "
              f"{env['os']} {env['arch']}, Python {env['python']}; peak RSS {report['peak_rss_mb']} MiB.", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".", ""]
    if report.get("plots"):
        lines += ["Plots: " + ", ".join(f"[{k}]({v})" for k, v in report["plots"].items()) + ".", ""]
    return "\n".join(lines)


def write_step_summary(markdown: str) -> bool:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions provides it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(markdown + "\n")
    return True


def load_report(path: Path) -> dict[str, Any]:
    """A report.json (e.g. a baseline), checked for the schema version edgekit understands."""
    from edgekit.errors import UsageError

    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"baseline {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"baseline {path} is not JSON: {exc}") from exc
    if report.get("schema") != "edgekit.bench" or report.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path} is not an edgekit bench report (schema version {SCHEMA_VERSION})")
    return report
