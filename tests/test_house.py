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


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = node.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs) if p.arg not in ("self", "cls")]
    return names + [p.arg for p in (a.vararg, a.kwarg) if p is not None]


def test_the_package_is_found() -> None:
    assert len(MODULES) > 40 and (PACKAGE / "layout.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_and_function_sizes(path: Path) -> None:
    """Every function, CLI commands included (their options are typed objects, ``cli.app.takes``), is measured
    from its ``def`` to its last line."""
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path.name} has {len(source.splitlines())} lines"
    for node in _functions(ast.parse(source)):
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        assert length <= MAX_FUNCTION_LINES, f"{node.name} is {length} lines"
        assert len(_parameters(node)) <= MAX_PARAMETERS, f"{node.name} takes {_parameters(node)}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(modules: list[Path]) -> dict[str, set[str]]:
    """edgekit module -> the edgekit modules it imports, anywhere in it (inside functions and under
    TYPE_CHECKING too: a lazy import is still a dependency); ``from pkg import mod`` names the module."""
    names = {_module_name(p): p for p in modules}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                             for a in node.names}  # fmt: skip
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[name] = {m for m in imported if m in names and m != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = stack[stack.index(node) :]
                    del stack[stack.index(node) :]
                    if len(component) > 1:
                        cycles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return cycles


def test_import_cycles_are_found() -> None:
    """The cycle finder itself: a circle of three and a self-contained pair are found, a chain is not."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}, "g": set()}
    assert sorted(import_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_among_edgekit_modules() -> None:
    graph = import_graph(MODULES)
    assert len(graph) == len(MODULES) and graph["edgekit.runtime.model"] >= {"edgekit.runtime.runner"}
    assert import_cycles(graph) == []


def test_convert_and_runtime_stay_below_what_uses_them() -> None:
    """convert/ never imports workflows/ or explain/ (the float fallback and the verdict sit above both);
    runtime/ never imports data/, convert/, train/, explain/ or benchmarks/ (the IDX reader it shares with data/
    is in the core)."""
    graph = import_graph(MODULES)
    below = {"convert": ("edgekit.workflows", "edgekit.explain"),
             "runtime": ("edgekit.data", "edgekit.convert", "edgekit.train", "edgekit.explain", "edgekit.benchmarks",
                         "edgekit.workflows")}  # fmt: skip
    offenders = [
        f"{module} imports {imported}"
        for module, imports in graph.items()
        for part, forbidden in below.items()
        if module.startswith(f"edgekit.{part}")
        for imported in imports
        if imported.startswith(forbidden)
    ]
    assert offenders == []


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
