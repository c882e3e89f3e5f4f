from pathlib import Path

from threadtag.core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_documents_every_setting():
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert not missing, f"settings not in the README: {missing}"


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == ["bash scripts/run.sh", "bash scripts/test.sh"]
