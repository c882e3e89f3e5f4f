"""Inference throughput of batched beam search on real Weibo posts with conversations.

    .venv/bin/python -m bench.inference_throughput --model runs/weibo-full-s13.pt [--posts 256]

(make a model with `threadtag train --weibo ../shared/data/weibo --out runs/weibo-full-s13.pt`)
Baseline in the same run: a loop that annotates one post at a time. Beam BEAM_SIZE (20),
top TOP_K. Peak memory: the process's peak RSS after each row (it only grows), and the CUDA
allocator's peak on a GPU.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch

from bench.common import WEIBO, machine, table
from threadtag.app import configs, recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import load_weibo


def peak_memory_mb() -> str:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available():
        return f"{rss:.0f} RSS / {torch.cuda.max_memory_allocated() / 2**20:.0f} CUDA"
    return f"{rss:.0f} RSS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--posts", type=int, default=256)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 64])
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = get_settings()
    checkpoint = Checkpoint.load(args.model, configs.device(settings))
    examples = load_weibo(WEIBO)[-args.posts :]  # the dev split's posts, with their conversations
    predictor = recipes.generator_predictor(checkpoint, settings)
    predictor.predict_examples(examples[:4])  # warm-up
    rows = []
    started = time.perf_counter()
    for example in examples:
        predictor.predict_examples([example])
    loop_rate = len(examples) / (time.perf_counter() - started)
    rows.append(["one post at a time (baseline)", f"{loop_rate:.1f}", "1.00", peak_memory_mb()])
    for size in args.batch_sizes:
        predictor.batch_size = size
        started = time.perf_counter()
        predictor.predict_examples(examples)
        rate = len(examples) / (time.perf_counter() - started)
        rows.append([f"batched, batch {size}", f"{rate:.1f}", f"{rate / loop_rate:.2f}", peak_memory_mb()])
    print(f"machine: {machine()}")
    print(
        f"model: {args.model} ({checkpoint.model.config.variant}, vocab {len(checkpoint.vocab)}, "
        f"hidden {checkpoint.model.config.hidden_size}); device {predictor.device}; "
        f"{len(examples)} Weibo dev posts; beam {settings.beam_size}, top {settings.top_k}"
    )
    print(table(["mode", "posts/s", "vs baseline", "peak memory MiB"], rows))


if __name__ == "__main__":
    main()
