import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadtag.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_generated_pages_are_current_and_name_every_setting_and_command():
    """docs/configuration.md and docs/cli.md are what `python -m threadtag.cli.reference` writes."""
    from threadtag.cli.reference import PAGES, cli_page, settings_page

    stale = [name for name, make in PAGES.items() if (ROOT / "docs" / name).read_text() != make()]
    assert not stale, f"run `python -m threadtag.cli.reference`: {stale} differ from the code"
    settings, commands = settings_page(), cli_page()
    assert all(f"`{name.upper()}`" in settings for name in Settings.model_fields)
    assert all(f"\n## {name}\n" in commands for name in ("run", "stream", "infer", "retrain", "doctor"))


def test_a_setting_added_without_regenerating_fails_the_check(monkeypatch):
    from threadtag.cli import reference

    monkeypatch.setattr(reference, "setting_groups", lambda: [("Extra", ["log_level", "log_format"])])
    assert reference.settings_page() != (ROOT / "docs" / "configuration.md").read_text()


@pytest.mark.integration  # mkdocs as a process
def test_the_site_builds_strictly_with_every_page_in_its_navigation(tmp_path):
    """mkdocs build --strict: no broken link or anchor, no page left out of the navigation."""
    import subprocess
    import sys

    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert (tmp_path / "site" / "configuration" / "index.html").is_file()


def test_documents_keep_to_their_sizes():
    assert len(README.encode()) <= 12_000
    assert len((ROOT / "BENCHMARKS.md").read_bytes()) <= 30_000
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


# How the project was developed is no concern of its files: no work sessions, tracker
# numbers or closing notes (history lives in git and CHANGELOG.md).
DEVELOPMENT_WORDS = re.compile(r"\bsessions? [0-9]|\bissues? #?[0-9]+|\bclosing note|\bas in the issue", re.I)


@pytest.mark.integration  # git ls-files
def test_no_file_speaks_of_how_the_project_is_developed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    texts = [p for p in tracked if p.endswith((".md", ".py", ".yml", ".yaml", ".toml", ".sh", ".txt", ".cfg"))]
    texts = [p for p in texts if p != "tests/test_docs.py"]  # the words themselves are here
    found = [
        (p, m.group())
        for p in texts
        if (ROOT / p).is_file()
        for m in DEVELOPMENT_WORDS.finditer((ROOT / p).read_text())
    ]
    assert len(texts) > 100 and not found, found


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == ["bash scripts/run.sh", "bash scripts/test.sh"]


# Words of an earlier topology (a DB-writer stage, three workers, co-partitioned topics).
STALE = ("DB-writer", "DB writer", "DB workers", "co-partitioned", "three workers")


def test_no_text_describes_the_old_topology():
    from typer.main import get_command

    from threadtag.cli import app

    root = Path(__file__).resolve().parents[1]
    command = get_command(app)
    runner = CliRunner()
    helps = [runner.invoke(app, [name, "--help"]).output for name in command.commands]  # type: ignore[attr-defined]
    texts = {
        "README.md": README,
        "docker/README.md": (root / "docker" / "README.md").read_text(),
        "--help": " ".join(helps),
    }
    assert len(helps) > 10 and all("Usage" in h for h in helps)
    found = [(where, word) for where, body in texts.items() for word in STALE if word.lower() in body.lower()]
    assert not found, f"the old topology's words: {found}"


def test_benchmarks_md_is_assembled_from_result_files_that_exist():
    from bench.benchmarks_md import assemble

    text = (ROOT / "BENCHMARKS.md").read_text()
    assert text == assemble(), "run `python -m bench.benchmarks_md`"
    sections = text.split("\n### ")[1:]
    files = [re.search(r"result file `(reports/bench/[\w.-]+\.json)`", s) for s in sections]
    assert len(sections) >= 10 and all(files), "every figure names the result file it came from"
    assert all((ROOT / f.group(1)).is_file() for f in files if f)


def test_the_recorder_keeps_every_table_a_bench_prints():
    from bench.record import first_sentence, tables_in

    printed = "machine: x\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\ntext\n| c |\n|---|\n| 5 |\n"
    assert tables_in(printed) == [
        {"headers": ["a", "b"], "rows": [["1", "2"], ["3", "4"]]},
        {"headers": ["c"], "rows": [["5"]]},
    ]
    assert first_sentence("Hostile input at volume: good tweets\nand more.\n\nUsage") == "Hostile input at volume"
