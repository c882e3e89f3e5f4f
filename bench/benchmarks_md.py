"""BENCHMARKS.md, assembled from the result files under reports/bench/ (bench.record writes
them): one section per area, each result a table with its command, machine, date and file.

    .venv/bin/python -m bench.benchmarks_md          # rewrites BENCHMARKS.md
    .venv/bin/python -m bench.benchmarks_md --check  # exit 1 where BENCHMARKS.md differs
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.record import RESULTS, ROOT

# The sections, in order, and which bench scripts' results each holds.
AREAS = {
    "Model quality": ("threadtag", "generator_ablation", "hybrid_beam_candidates", "live_replay"),
    "Stream throughput and latency": ("stream_backlog",),
    "End to end": ("end_to_end",),
    "Inference on CPU and GPU": ("inference_throughput", "gpu_inference", "decode_speed", "predict_latency"),
    "Hybrid cost": ("hybrid_cost", "long_thread"),
    "Scale": ("index_window",),
    "Faults": ("hostile_mix", "stream_restart", "shuffled_replays", "db_outage", "broker_partition"),
}
INTRO = """# Benchmarks

Today's figures, one section per area, assembled by `python -m bench.benchmarks_md` from the
result files under `reports/bench/` that `python -m bench.record SCRIPT ...` writes; each table
names its command, machine, date and file. Quality is judged against the strongest baseline
in the same run (the retrieval vote), over seeds or folds; throughput against a baseline
measured in the same run. Older measurements are in git's history of this file.
"""


def area_of(script: str) -> str:
    return next(area for area, scripts in AREAS.items() if script in scripts)


def _section(result: dict[str, Any]) -> list[str]:
    file = f"reports/bench/{result['name']}.json"
    how = "" if result["source"].startswith("written by bench.record") else f" ({result['source']})"
    where = f"{result['machine']}; {result['date']}, commit `{result['commit']}`; result file `{file}`{how}."
    lines = ["", f"### {result['title']}", "", f"`{result['command']}`", "", where]
    lines += [f"- {note}" for note in result.get("notes", [])]
    for table in result["tables"]:
        lines += ["", "| " + " | ".join(table["headers"]) + " |", "|" + "---|" * len(table["headers"])]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table["rows"]]
    return lines


def assemble() -> str:
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    lines = [INTRO.rstrip()]
    for area in AREAS:
        mine = [r for r in results if r["area"] == area]
        if mine:
            lines += ["", f"## {area}"]
            for result in mine:
                lines += _section(result)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    target = ROOT / "BENCHMARKS.md"
    text = assemble()
    if parser.parse_args().check:
        sys.exit(0 if target.read_text() == text else "BENCHMARKS.md differs: run python -m bench.benchmarks_md")
    target.write_text(text)


if __name__ == "__main__":
    main()
