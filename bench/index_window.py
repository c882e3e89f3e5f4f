"""What a smaller retrieval index costs in quality: the Weibo held-out posts scored with the
index capped at a window of the newest training posts (RETRIEVAL_CAPACITY; the oldest go
first, as in a live worker), beside the whole index in the same run.

    .venv/bin/python -m bench.index_window [--fractions 0.1 0.25 0.5 1] [--folds 5]

Per window: retrieval alone and the hybrid without the generator (what the default
HYBRID_DECODE=short serves where every post has TOP_K candidates), each fitted with the
window as its index, reranker included; no generator is trained. Without --folds the split
is the fixed dev split (the last WEIBO_DEV_LINES lines); with --folds K every fold of K-fold
cross-validation is held out once. Run with INVENTORY_PATH set as the default model is trained.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path
from typing import cast

from bench.common import WEIBO, machine, table
from threadtag.app import configs, recipes
from threadtag.app.validation import examples_for, plan
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import Settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.corpus import Example, load_weibo
from threadtag.models.evaluation import score_ranked
from threadtag.models.hybrid_training import fit_hybrid
from threadtag.models.predictor import HashtagPredictor
from threadtag.models.rankers.retrieval import RetrievalRanker


def _scores(settings: Settings, train: list[Example], held: list[Example], capacity: int) -> tuple[float, float, float]:
    """F1@1 of retrieval, F1@1 and F1@5 of the hybrid without the generator, in percent."""
    retrieval_config = replace(configs.retrieval_config(settings), capacity=capacity)
    retrieval = RetrievalRanker(retrieval_config)
    retrieval.fit(train, [])
    alone = score_ranked(retrieval.rank(held, settings.top_k), held)
    hybrid_config = replace(configs.hybrid_config(settings), beam_candidates=0)
    model = fit_hybrid(
        train, recipes.inventory(settings), retrieval_config, hybrid_config, configs.reranker_config(settings)
    )
    # No beam search runs (no generator candidate, no generator feature): the predictor is never asked.
    hybrid = HybridAnnotator(cast(HashtagPredictor, None), model, settings.top_k)
    ranked = score_ranked([[h.tag for h in p] for p in hybrid.rank(held)], held)
    return 100 * alone.f1_at_1, 100 * ranked.f1_at_1, 100 * ranked.f1_at_5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--weibo", type=Path, default=WEIBO, help="the Weibo files' folder")
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = Settings()
    examples = load_weibo(args.weibo)
    splits = [
        examples_for(split, examples, settings.weibo_dev_lines) for split in plan([settings.train_seed], args.folds)
    ]
    found: dict[float, list[tuple[float, float, float]]] = {f: [] for f in args.fractions}
    for train, held in splits:
        for fraction in args.fractions:
            found[fraction].append(_scores(settings, train, held, max(1, round(fraction * len(train)))))
    whole = max(args.fractions)
    rows = []
    for fraction in args.fractions:
        means = [statistics.fmean(s[i] for s in found[fraction]) for i in range(3)]
        gap = statistics.fmean(s[1] - w[1] for s, w in zip(found[fraction], found[whole]))
        posts = round(fraction * len(splits[0][0]))
        rows.append([f"{fraction:g}", posts, *(f"{m:.2f}" for m in means), f"{gap:+.2f}"])
    print(f"machine: {machine()}")
    print(f"splits: {'dev' if not args.folds else f'{args.folds} folds'}; window = newest training posts")
    header = ["window", "posts indexed", "retrieval F1@1", "hybrid w/o generator F1@1", "its F1@5", "F1@1 − whole"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
