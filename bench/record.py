"""Run a benchmark script and keep what it printed as its result file: `reports/bench/NAME.json`
(the command, machine, date, commit and every Markdown table the script printed) and
`reports/bench/NAME.md` (the same for people). BENCHMARKS.md is assembled from these files
(`python -m bench.benchmarks_md`), never copied by hand.

    .venv/bin/python -m bench.record [--name NAME] [--note TEXT ...] SCRIPT [ARGS ...]
    .venv/bin/python -m bench.record --name NAME --title TEXT threadtag crossval ...   # a command's tables

e.g. `python -m bench.record --name hostile_mix_new_york hostile_mix --messages 10000 --timezone America/New_York`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "reports" / "bench"


def tables_in(text: str) -> list[dict[str, Any]]:
    """Every Markdown table in `text`: its header and rows (the separator line left out)."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if len(block) >= 2:
            tables.append({"headers": block[0], "rows": block[2:]})
        block = []
    return tables


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=[.:;])\s", paragraph)[0].rstrip(".:;,")


def result_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# {result['title']}",
        "",
        f"- command: `{result['command']}`",
        f"- machine: {result['machine']}",
        f"- date: {result['date']}, commit `{result['commit']}`",
        f"- source: {result['source']}",
    ]
    lines += [f"- {note}" for note in result.get("notes", [])]
    for table in result["tables"]:
        lines += ["", "| " + " | ".join(table["headers"]) + " |", "|" + "---|" * len(table["headers"])]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table["rows"]]
    return "\n".join(lines) + "\n"


def write_result(result: dict[str, Any], results: Path = RESULTS) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{result['name']}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    path.with_suffix(".md").write_text(result_markdown(result))
    return path


def _settings_in_environment() -> list[str]:
    """NAME=value for each threadtag setting the environment sets: part of the command."""
    from threadtag.core.settings import Settings

    names = [name.upper() for name in Settings.model_fields]
    return [f"{name}={os.environ[name]}" for name in names if name in os.environ]


def _commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return head.stdout.strip() + ("+changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="the result file's name (default: the script's)")
    parser.add_argument("--title", help="what the result shows (default: the script's first docstring line)")
    parser.add_argument("--note", action="append", default=[], help="a line to keep with the result")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the folder of result files")
    parser.add_argument("script", help="a module of bench/, e.g. hostile_mix; or threadtag, for a command")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cli = args.script == "threadtag"
    command = [sys.executable, "-m", "threadtag.cli" if cli else f"bench.{args.script}", *args.args]
    from bench.benchmarks_md import area_of  # it imports this module's paths

    run = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        sys.exit(f"bench.{args.script} exited with {run.returncode}: no result written")
    doc = "" if cli else __import__(f"bench.{args.script}", fromlist=["__doc__"]).__doc__ or args.script
    printed = [line.split(":", 1)[1].strip() for line in run.stdout.splitlines() if line.startswith("machine:")]
    from bench.common import machine as this_machine  # torch: imported only once the run is over

    machine = printed[0] if printed else this_machine()
    result = {
        "name": args.name or args.script,
        "area": area_of(args.script),
        "title": args.title or first_sentence(doc),
        "command": " ".join(
            [
                *_settings_in_environment(),
                ".venv/bin/threadtag" if cli else ".venv/bin/python -m bench." + args.script,
                *args.args,
            ]
        ),
        "machine": machine,
        "date": dt.date.today().isoformat(),
        "commit": _commit(),
        "source": "written by bench.record from the script's output",
        "notes": args.note,
        "tables": tables_in(run.stdout),
    }
    print(f"result: {write_result(result, args.results)}", file=sys.stderr)


if __name__ == "__main__":
    main()
