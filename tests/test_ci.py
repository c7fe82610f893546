"""The files around the package: GitHub workflows, the Raspberry Pi smoke test, and the README lines they share."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
EXAMPLE_WORKFLOW = REPO / "examples" / "github-actions" / "edgekit.yml"
REPOSITORY_WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
# `pip install edgekit`, `pip install "edgekit[onnx]"`: edgekit is not on the package index, so these fail
INDEX_INSTALL = re.compile(r"pip install ['\"]?edgekit(\[|['\" ]|$)", re.MULTILINE)


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


@pytest.mark.parametrize("workflow", [EXAMPLE_WORKFLOW, REPOSITORY_WORKFLOW], ids=lambda p: p.name)
def test_workflows_pass_actionlint(workflow: Path) -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install 'edgekit[test]' on linux x86_64)")
    command = [actionlint, "-no-color", str(workflow)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_workflow_installs_edgekit_as_the_readme_says() -> None:
    text = EXAMPLE_WORKFLOW.read_text()
    assert "edgekit run" in text and "upload-artifact" in text and "--max-accuracy-drop" in text
    assert 'pip install ".[train]"' in text and 'pip install ".[train]"' in _readme_section("Installs")
    assert INDEX_INSTALL.search(text) is None


def test_repository_workflow_runs_ci_script() -> None:
    assert "run: bash .ci/run" in REPOSITORY_WORKFLOW.read_text()
    assert not (REPO / ".github" / "workflows" / "edgekit.yml").exists(), "the user template lives in examples/"


def test_readme_device_install_is_what_pi_smoke_runs() -> None:
    section = _readme_section("Running on a Raspberry Pi")
    block = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)[0]  # the device install; then the smoke test
    pip_lines = [line for line in block.splitlines() if re.search(r"\bpip (wheel|install) ", line)]
    assert len(pip_lines) == 2, block  # build the wheel; install it with [onnx] on the Pi
    script = (REPO / "scripts" / "pi-smoke.sh").read_text()
    for line in pip_lines:
        assert line in script, f"README line not run by scripts/pi-smoke.sh: {line}"
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert version is not None and f"edgekit-{version[1]}-py3-none-any.whl[onnx]" in block
    for title in ("Installs", "Running on a Raspberry Pi"):
        assert INDEX_INSTALL.search(_readme_section(title)) is None, title
