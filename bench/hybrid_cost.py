"""What the hybrid path costs an inference worker: requests/s against the generator alone
(baseline, timed beside each measurement on the same posts), with a live index of N labelled
posts, and the index's memory; the hybrid without the generator (no beam search) beside it.

    .venv/bin/python -m bench.hybrid_cost --model runs/weibo-hybrid-s13.pt [--indexed 100000] [--posts 256]

(make the model with `INVENTORY_PATH=../shared/data/weibo/inventory_tag.txt threadtag train
--weibo ../shared/data/weibo --out runs/weibo-hybrid-s13.pt`). The index is filled as the
live index is: the training posts, then copies of them under new keys, each stamped, up to
--indexed posts; every request excludes its own key and sees only posts stamped before it,
as in the worker. Memory: the bytes of the index's sparse matrices and the growth of the
process's traced Python allocations while filling it.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from bench.common import WEIBO, machine, table
from threadtag.app import recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.corpus import load_weibo


def _fill(annotator: HybridAnnotator, size: int) -> tuple[float, float]:
    """Learn copies of the training posts until the index holds `size`; (matrix MiB, traced MiB)."""
    examples = load_weibo(WEIBO)[:-400]
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    added, stamp = len(annotator.model.index), 0.0
    while added < size:
        chunk = examples[: min(len(examples), size - added)]
        keys = [f"copy:{added + i}" for i in range(len(chunk))]
        annotator.learn(keys, chunk, [stamp + i for i in range(len(chunk))])
        added, stamp = added + len(chunk), stamp + len(chunk)
    matrices = annotator.model.index.nbytes() / 2**20
    traced = (tracemalloc.get_traced_memory()[0] - start) / 2**20
    tracemalloc.stop()
    return matrices, traced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--indexed", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5, help="paired timings per row (medians)")
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = get_settings()
    annotator = recipes.predictor(args.model, settings)
    if not isinstance(annotator, HybridAnnotator):
        raise SystemExit(f"{args.model} carries no hybrid ranker (train it with HYBRID=true)")
    generator = recipes.generator_predictor(annotator.checkpoint, settings)
    requests = load_weibo(WEIBO)[-args.posts :]
    keys = [f"request:{i}" for i in range(len(requests))]
    generator.predict_examples(requests)  # warm-up: a first pass ran slower than the hybrid's after it

    def seconds(work: object) -> float:
        started = time.perf_counter()
        work()  # type: ignore[operator]
        return time.perf_counter() - started

    def paired(hybrid: object) -> tuple[float, float, float]:
        """(generator requests/s, hybrid requests/s, hybrid / generator): medians of --rounds
        rounds, each timing the generator alone and then the hybrid (this machine's speed
        drifts by a third within minutes, so the baseline is timed beside every measurement)."""
        rounds = [(seconds(lambda: generator.predict_examples(requests)), seconds(hybrid)) for _ in range(args.rounds)]
        n = len(requests)
        return (
            n / statistics.median(g for g, _ in rounds),
            n / statistics.median(h for _, h in rounds),
            statistics.median(g / h for g, h in rounds),
        )

    rows = []
    trained = len(annotator.model.index)
    for size in sorted({trained, 10_000, args.indexed}):
        matrices, traced = _fill(annotator, size) if size > len(annotator.model.index) else (float("nan"),) * 2
        before = [float(size) + 1] * len(requests)
        annotator.model.index.similarities(requests[:1])  # postings cut once per change, not per request
        base, hybrid, ratio = paired(lambda: annotator.rank(requests, keys, before))  # noqa: B023 - used at once
        per_100k = f"{matrices * 100_000 / size:.0f} / {traced * 100_000 / size:.0f}" if size > trained else "-"
        rows.append(["hybrid", size, f"{base:.1f}", f"{hybrid:.1f}", f"{ratio:.2f}", per_100k, f"{matrices:.0f}"])
        if not annotator.model.uses_generator_features:  # the same index, no generator candidate, no beam search
            alone = annotator.without_generator()
            base, fast, ratio = paired(lambda: alone.rank(requests, keys, before))  # noqa: B023 - used at once
            rows.append(["hybrid without the generator", size, f"{base:.1f}", f"{fast:.1f}", f"{ratio:.2f}", "-", "-"])
    # The same index searched through every posting (RETRIEVAL_POSTINGS_PER_WORD=0), and with
    # every word of a query (RETRIEVAL_QUERY_TERMS=0), same run.
    index = annotator.model.index
    configured = index.config
    everything = [float(len(index)) + 1] * len(requests)
    for name, change in [("every posting read", {"postings_per_word": 0}), ("every query word", {"query_terms": 0})]:
        index.reconfigure(replace(configured, **change))
        index.similarities(requests[:1])
        base, hybrid, ratio = paired(lambda: annotator.rank(requests, keys, everything))
        rows.append([f"hybrid, {name}", len(index), f"{base:.1f}", f"{hybrid:.1f}", f"{ratio:.2f}", "-", "-"])
    index.reconfigure(configured)
    print(f"machine: {machine()}")
    print(
        f"model: {args.model}; {len(requests)} Weibo dev posts a run, batch {settings.predict_batch_size}, "
        f"{configured.postings_per_word} postings per word, {configured.query_terms} words a query; "
        f"beam {settings.beam_size}, top {settings.top_k}; device {generator.device}"
    )
    header = [
        "path",
        "posts indexed",
        "generator alone, requests/s",
        "hybrid, requests/s",
        "hybrid / generator",
        "MiB per 100k (matrices / traced)",
        "matrix MiB",
    ]
    print(table(header, rows))


if __name__ == "__main__":
    main()
