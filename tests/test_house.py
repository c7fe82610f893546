"""The shape of the house (ARCHITECTURE.md): small modules and functions, the run layout spelled once,
the runtime free of TensorFlow imports, the library free of the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgekit"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_PARAMETERS = 300, 50, 6
RUN_FOLDER_NAMES = ("model.keras", "manifest.json", "train-fingerprints.npy", "history.json")


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _is_cli_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Typer commands declare one parameter per option: that is their job, so they are not counted."""
    return any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "command"
        for d in node.decorator_list
    )


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = node.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs) if p.arg not in ("self", "cls")]
    return names + [p.arg for p in (a.vararg, a.kwarg) if p is not None]


def test_the_package_is_found() -> None:
    assert len(MODULES) > 40 and (PACKAGE / "layout.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_and_function_sizes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path.name} has {len(source.splitlines())} lines"
    for node in _functions(ast.parse(source)):
        # a Typer command's signature is its option table (one Annotated option per parameter, as Typer's
        # docs write them); what must fit on a screen is the logic, so a command is measured from its body
        first = node.body[0].lineno if _is_cli_command(node) else node.lineno
        length = (node.end_lineno or node.lineno) - first + 1
        assert length <= MAX_FUNCTION_LINES, f"{node.name} is {length} lines"
        if not _is_cli_command(node):
            assert len(_parameters(node)) <= MAX_PARAMETERS, f"{node.name} takes {_parameters(node)}"


def test_run_folder_names_are_spelled_only_in_layout() -> None:
    offenders = []
    for path in MODULES:
        if path.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in RUN_FOLDER_NAMES:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_library_never_imports_the_cli() -> None:
    for path in MODULES:
        if "cli" in path.relative_to(PACKAGE).parts[0]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("edgekit.cli"), f"{path.name} imports {node.module}"
