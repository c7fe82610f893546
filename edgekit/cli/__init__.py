"""The `edgekit` command: wiring only. Each command parses options, calls one library function,
prints its result and exits. Heavy libraries are imported inside the commands that need them.

One module per command (``train``, ``convert``, ``predict``, ``bench``, ``run``, ``explain``, ``doctor``); the app,
its error handling and --version in ``app``; options several commands share in ``options``.
"""

# isort: skip_file
# Importing a command module registers its command; --help lists them in this order.
from edgekit.cli import train, convert, predict, bench, run, explain, doctor  # noqa: F401
from edgekit.cli.app import app, main

__all__ = ["app", "main"]
