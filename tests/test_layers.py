"""The layering contract (pyproject.toml, [tool.importlinter]) on the code as the wheel lays it
out, and proof that the contract catches an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # it starts processes

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib
ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _wheel_layout(target: Path) -> Path:
    """Copy the Python files into the package tree the wheel installs (package-dir mapping)."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, folder in mapping.items():
        destination = target.joinpath(*package.split("."))
        for source in (ROOT / folder).rglob("*.py"):
            relative = source.relative_to(ROOT / folder)
            if package == "threadtag" and relative.parts[0] in {v for k, v in mapping.items() if k != "threadtag"}:
                continue
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination / relative)
    return target


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    if not LINT.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    return _wheel_layout(tmp_path)


def test_the_layers_import_downward(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("threadtag/core/settings.py", "threadtag.app.recipes"),  # the floor reaching up
        ("threadtag/models/vocab.py", "threadtag.core.settings"),  # the model beside the floor
        ("threadtag/pipeline/posts_table.py", "threadtag.workers.batches"),  # the two middle layers
        ("threadtag/pipeline/posts_table.py", "threadtag.pipeline.conversations_table"),  # a table module on another
        ("threadtag/core/database.py", "threadtag.migrations"),  # the floor needs no migrations
    ],
)
def test_an_upward_import_breaks_the_contract(tree, module, upward):
    path = tree / module
    path.write_text(path.read_text() + f"\nimport {upward}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and upward in result.stdout, result.stdout
