"""The Typer app: its error handling, --version, and how --help shows types."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperOption

from edgekit.console import err, loading_status, out, print_error
from edgekit.errors import EdgekitError

app = typer.Typer(
    name="edgekit",
    help="Train a small Keras model, convert it for the edge (TFLite, ONNX), run it and benchmark it honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # not "rich": its markup would eat "[gate]" and "edgekit[onnx]"
)
DEFAULT_RUNS = Path("edgekit-runs")
_option_type, _argument_type = TyperOption.display_type_rich, TyperArgument.display_type_rich


# Typer's type column writes "<bool>" beside every plain flag (--json, --help), which reads as if the flag
# took a value, and "<list[Path]>" for a file list; a flag's column stays empty, a list reads "<path>...".
def _option_type_column(self: TyperOption, ctx: Any) -> str | None:
    return None if self.is_flag else _option_type(self, ctx)


def _argument_type_column(self: TyperArgument, ctx: Any) -> str | None:
    shown = _argument_type(self, ctx)
    return re.sub(r"<list\[(\w+)\]>", lambda m: f"<{m.group(1).lower()}>...", shown) if shown else shown


TyperOption.display_type_rich = _option_type_column  # type: ignore[method-assign]
TyperArgument.display_type_rich = _argument_type_column  # type: ignore[method-assign,assignment]
F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(command: F) -> F:
    """Turn edgekit's own errors into one line (plus a hint) and their exit code; bugs keep tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EdgekitError as exc:
            print_error(exc.message, exc.hint or "")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[bold red]interrupted[/]: nothing half-written was left as finished")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


OptionsT = TypeVar("OptionsT")


def takes(options_type: type[OptionsT]) -> Callable[[Callable[[OptionsT], None]], Callable[..., None]]:
    """A command whose options are one typed object: the fields of a dataclass, each an ``Annotated`` Typer
    option (or argument) with its default. Typer reads the signature made here, one parameter per field (the
    class's own fields first, then those of the option groups it inherits), and the command gets the object."""
    hints = typing.get_type_hints(options_type, include_extras=True)
    own = set(inspect.get_annotations(options_type))
    ordered = sorted(dataclasses.fields(options_type), key=lambda f: f.name not in own)  # type: ignore[arg-type]
    empty = inspect.Parameter.empty
    parameters = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[f.name],
            default=empty if f.default is dataclasses.MISSING else f.default,
        )
        for f in ordered
    ]

    def decorate(command: Callable[[OptionsT], None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            command(options_type(**values))

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def _show_version(value: bool) -> None:
    if value:
        from edgekit import __version__

        out.print(f"edgekit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show edgekit's version and exit.")
    ] = False,
) -> None:
    from edgekit.tensorflow_import import show_loading_with

    show_loading_with(loading_status)


def main() -> None:
    """Console-script entry point."""
    app()
