"""Run several `edgekit` command lines in one fresh Python process: exit codes, output, heavy imports.

A fresh process shows what a user sees (no fixture has imported TensorFlow yet), and one process for
many command lines keeps the start-up cost (about 1 s) paid once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

_CHILD = r"""
import contextlib, io, json, sys
from edgekit.cli import app
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args, prog_name="edgekit")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # a traceback: the test shows it
            import traceback
            err.write("Traceback (escaped the CLI)\n" + traceback.format_exc())
            code = -1
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
heavy = [m for m in ("tensorflow", "keras", "tf2onnx", "matplotlib") if m in sys.modules]
print(json.dumps({"results": results, "heavy": heavy}))
"""


@dataclass(frozen=True)
class Outcome:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def is_one_line_error(self, code: int, fragment: str) -> bool:
        """Exit ``code``, exactly one ``error:`` line holding ``fragment``, at most a hint beside it, no traceback."""
        others = [
            line
            for line in self.stderr.splitlines()
            if line.strip() and not line.startswith(("error:", "hint:", "loading ", "note:"))
        ]
        lines = self.error_lines
        return (
            self.code == code
            and len(lines) == 1
            and fragment in lines[0]
            and "Traceback" not in self.stderr + self.stdout
            and not others
        )


def run_cli(
    commands: list[list[str]], env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[list[Outcome], list[str]]:
    """Each command's outcome, and the heavy modules the child had imported by the end."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.splitlines()[-1])
    outcomes = [
        Outcome(args, r["code"], r["stdout"], r["stderr"]) for args, r in zip(commands, data["results"], strict=True)
    ]
    return outcomes, data["heavy"]
