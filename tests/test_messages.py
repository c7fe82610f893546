"""What edgekit prints keeps its brackets: rich would read "[onnx]" or "[gate]" as markup and drop it."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from edgekit.cli import app

BRACKETED = re.compile(r"\S*\[[^\]\s]+\]\S*")


def _commands() -> dict[str, typer.main.TyperGroup]:
    group = typer.main.get_command(app)
    return {"": group, **group.commands}  # type: ignore[attr-defined]


def _flat(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch not in "│╭╮╰╯─")


@pytest.mark.parametrize("name", list(_commands()))
def test_every_help_keeps_its_brackets(name: str) -> None:
    command = _commands()[name]
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    expected = [m for text in texts for m in BRACKETED.findall(text)]
    result = CliRunner().invoke(app, [*([name] if name else []), "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for bracketed in expected:
        assert _flat(bracketed) in _flat(result.output), f"{bracketed!r} lost in `edgekit {name} --help`"
    if name == "bench":
        assert "[gate]" in result.output  # the case that was reported


def test_brackets_are_somewhere_to_lose() -> None:
    """The test above checks something: some help text holds brackets."""
    found = [m for c in _commands().values() for p in c.params for m in BRACKETED.findall(getattr(p, "help", "") or "")]
    assert found


def test_error_hint_with_brackets_is_printed_whole(monkeypatch: pytest.MonkeyPatch, dense_artifacts) -> None:  # type: ignore[no-untyped-def]
    from edgekit.runtime.backends import OnnxRuntimeSession

    monkeypatch.setattr(OnnxRuntimeSession, "import_module", classmethod(lambda cls: None))
    artifact = dense_artifacts["onnx-float32"].artifact
    result = CliRunner().invoke(app, ["predict", str(artifact), str(artifact)], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    assert "edgekit[onnx]" in result.output, result.output
    assert "Traceback" not in result.output


def test_flags_show_no_type_and_arguments_a_plain_name() -> None:
    result = CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert "<bool>" not in result.output and "<list[Path]>" not in result.output
    assert "IMAGES..." in result.output and "--json" in result.output
    assert "<int>" in result.output  # options that take a value still say what
