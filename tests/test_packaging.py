"""The wheel holds everything a user needs under one namespace: the layers, the migrations
and the sample threads, and no generic top-level package (models, schemas, ...)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.integration  # it starts processes


def test_the_wheel_ships_one_namespace_with_migrations_and_samples(tmp_path: Path):
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT)]
    subprocess.run([*build, "-w", str(tmp_path)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("threadtag-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"threadtag"}, tops
    for needed in (
        "threadtag/models/network.py",
        "threadtag/models/rankers/base.py",
        "threadtag/schemas/tables.py",
        "threadtag/pipeline/topology.py",
        "threadtag/workers/inference.py",
        "threadtag/migrations/env.py",
        "threadtag/migrations/script.py.mako",
        "threadtag/samples/threads.jsonl",
    ):
        assert needed in names, needed
    revisions = [n for n in names if n.startswith("threadtag/migrations/versions/") and n.endswith(".py")]
    assert len(revisions) == len(list((ROOT / "migrations" / "versions").glob("*.py")))
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "threadtag = threadtag.cli:console_main" in entry


def test_a_checkout_imports_each_layer_once_through_its_editable_install():
    """No checkout root on threadtag's path: the folders map only to their own names."""
    probe = (
        "import threadtag.models, threadtag.core.settings, importlib.util as u; "
        "print(threadtag.models.__file__); "
        "print([m for m in ('threadtag.threadtag', 'threadtag.tests', 'threadtag.bench') if u.find_spec(m)])"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    models_file, found = result.stdout.splitlines()
    assert Path(models_file) == ROOT / "models" / "__init__.py"
    assert found == "[]"
    failed = subprocess.run([sys.executable, "-c", "import threadtag.threadtag"], cwd=ROOT, capture_output=True)
    assert failed.returncode != 0 and b"ModuleNotFoundError" in failed.stderr
