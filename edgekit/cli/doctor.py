"""`edgekit doctor`."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.cli.app import app, handles_errors
from edgekit.console import out, print_doctor


@app.command()
@handles_errors
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """Show versions, GPU, installed extras and known-bad combinations; exit 1 if something is broken."""
    import json

    from edgekit.doctor import run_doctor

    report = run_doctor()
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        print_doctor(report)
    if not report.healthy:
        raise typer.Exit(1)
