"""Latency of `predict` for one hand-written English post with replies, model already loaded.

    .venv/bin/python bench/predict_latency.py [--model m.pt] [--runs 20]

Without --model, the small sample model is trained first. Baseline in the same run: greedy
decoding (beam 1) against the configured beam (20).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import machine, table
from threadtag.app import configs, recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.checkpoint import Checkpoint

POST = "This Azarenka woman needs a talking to from the umpire, her weird noises are totes inappropes"
REPLIES = [
    "How annoying is she. Sounds like a turbo charged car changing gear",
    "On the topic of noises, I was at the Nadal Tomic game last night and Tomic was so quiet",
    "He seems to have a lot of talent and the postmatch press conference showed maturity",
    "Tomic has a fantastic tennis brain",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging("WARNING")
    if args.model:
        checkpoint = Checkpoint.load(args.model, configs.device(settings))
    else:
        checkpoint = recipes.train_sample_model(settings, Path(tempfile.mkdtemp()) / "sample.pt", progress=False)
    rows = []
    for beam in (1, settings.beam_size):
        predictor = recipes.generator_predictor(checkpoint, settings)
        predictor.beam_size = beam
        predictor.predict_thread(POST, REPLIES)  # warm-up: first call loads jieba/ekphrasis/wordsegment
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            ranked = predictor.predict_thread(POST, REPLIES)
            times.append(1000 * (time.perf_counter() - started))
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        top = ", ".join(h.tag for h in ranked[:3])
        rows.append([beam, f"{statistics.median(times):.1f}", f"{p95:.1f}", f"{max(times):.1f}", top])
    print(f"machine: {machine()}")
    print(f"model: {args.model or 'sample model'} ({checkpoint.model.config.variant}, vocab {len(checkpoint.vocab)})")
    print(table(["beam", "median ms", "p95 ms", "max ms", "top 3"], rows))


if __name__ == "__main__":
    main()
