"""Decoding speed of batched beam search on the Weibo dev posts (paper sizes, BEAM_SIZE 20,
TOP_K 5, PREDICT_BATCH_SIZE posts a batch), one row per checkpoint.

    .venv/bin/python -m bench.decode_speed --models runs/a.pt runs/b.pt [--posts 256] [--threads 2]
        [--save preds.jsonl] [--reference preds-of-another-run.jsonl]

--save writes the top-K of each post; --reference compares this run's top-K lists with a
saved run's (same posts), so a decoder change can be shown to leave its output unchanged.
Settings come from the environment as for every command (BEAM_BLOCK_REPEATS=false gives
the search without the repeated-word rule).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import WEIBO, machine, table
from threadtag.app import configs, recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import load_weibo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, nargs="+", required=True)
    parser.add_argument("--posts", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=WEIBO)
    parser.add_argument("--save", type=Path, help="write the top-K lists (JSON lines, one file per model: .N suffix)")
    parser.add_argument("--reference", type=Path, help="top-K lists of another run to compare with")
    args = parser.parse_args()
    configure_logging("WARNING")
    torch.set_num_threads(args.threads)
    settings = get_settings()
    posts = load_weibo(args.data)[-settings.weibo_dev_lines :][: args.posts]
    reference = None
    if args.reference:
        reference = [json.loads(line) for line in args.reference.read_text(encoding="utf-8").splitlines()]
    rows = []
    for number, path in enumerate(args.models):
        predictor = recipes.generator_predictor(Checkpoint.load(path, configs.device(settings)), settings)
        predictor.predict_examples(posts[:8])  # warm-up: first-call allocations
        started = time.perf_counter()
        ranked = [[h.tag for h in p] for p in predictor.predict_examples(posts)]
        seconds = time.perf_counter() - started
        same = "" if reference is None else f"{sum(a == b for a, b in zip(ranked, reference))}/{len(ranked)}"
        if args.save:
            out = args.save.with_suffix(f".{number}{args.save.suffix}")
            out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ranked), encoding="utf-8")
        model = predictor.checkpoint.model
        outputs = getattr(model.config, "outputs", model.config.vocab_size)
        rows.append([path.name, outputs, f"{len(posts) / seconds:.1f}", f"{1000 * seconds / len(posts):.1f}", same])
    print(f"machine: {machine()}")
    batch = settings.predict_batch_size
    print(f"{len(posts)} dev posts, beam {settings.beam_size}, top {settings.top_k}, batch {batch}")
    print(table(["model", "output words", "posts/s", "ms/post", "top-K same as reference"], rows))


if __name__ == "__main__":
    main()
