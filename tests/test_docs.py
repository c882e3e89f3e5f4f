from pathlib import Path

from typer.testing import CliRunner

from threadtag.core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_documents_every_setting():
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert not missing, f"settings not in the README: {missing}"


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
