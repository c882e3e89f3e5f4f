"""How many of the generator's hashtags the hybrid path should take as candidates
(HYBRID_BEAM_CANDIDATES), or the width of its beam search (--setting hybrid_beam_size): per split,
one generator is trained and the hybrid around it (its ranker fitted with the value) is
scored with each value, so that the values are compared on the same generator (paired).

    .venv/bin/python -m bench.hybrid_beam_candidates --values 10 5 --seeds 13 14 15
    .venv/bin/python -m bench.hybrid_beam_candidates --values 10 5 --folds 5
    .venv/bin/python -m bench.hybrid_beam_candidates --setting hybrid_beam_size --values 20 10 --folds 5

The generator asks beam search for max(TOP_K, HYBRID_BEAM_CANDIDATES) finished hashtags, so
a value above TOP_K makes it search longer (bench/hybrid_cost.py). Without --folds the split
is the fixed dev split (the last WEIBO_DEV_LINES lines), once per seed; with --folds K every
fold of K-fold cross-validation over all lines is held out once (seed = the first of --seeds).
Run with INVENTORY_PATH set as the default model is trained.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench.common import WEIBO, machine, table
from threadtag.app import recipes
from threadtag.app.validation import _generator_run, _scored, plan
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import Settings
from threadtag.models.corpus import load_weibo

MEASURES = ("f1_at_1", "f1_at_5", "map_at_5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--setting", default="hybrid_beam_candidates", choices=("hybrid_beam_candidates", "hybrid_beam_size")
    )
    parser.add_argument("--values", type=int, nargs="+", default=[10, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--weibo", type=Path, default=WEIBO, help="the Weibo files' folder")
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = Settings()
    examples = load_weibo(args.weibo)
    rows, scores = [], {v: [] for v in args.values}  # value -> per split {measure: percent}
    for split in plan(args.seeds, args.folds):
        run, checkpoint, train, held = _generator_run(settings, examples, split, "full", "settings")
        for value in args.values:
            seeded = settings.model_copy(update={"train_seed": split.seed, args.setting: value})
            annotator = recipes.hybrid_annotator(seeded, checkpoint, train)
            hybrid = _scored("settings", "hybrid", split, annotator, held, 0)
            scores[value].append(hybrid.scores)
            rows.append([split.label, value, *(f"{hybrid.scores[m]:.2f}" for m in MEASURES), hybrid.distinct_top1])
        rows.append([split.label, "generator alone", *(f"{run.scores[m]:.2f}" for m in MEASURES), run.distinct_top1])
    print(f"machine: {machine()}")
    name = args.setting.upper()
    print(table(["split", name, *MEASURES, "distinct top-1"], rows))
    first = args.values[0]
    summary = []
    for value in args.values:
        means = [statistics.mean(s[m] for s in scores[value]) for m in MEASURES]
        deltas = [[s[m] - f[m] for s, f in zip(scores[value], scores[first])] for m in MEASURES]
        paired = [
            f"{statistics.mean(d):+.2f} ± {statistics.stdev(d) / len(d) ** 0.5:.2f}" if len(d) > 1 else f"{d[0]:+.2f}"
            for d in deltas
        ]
        summary.append([value, *(f"{m:.2f}" for m in means), *paired])
    header = [name, *(f"{m} mean" for m in MEASURES)]
    header += [f"{m} − value {first} (± se)" for m in MEASURES]
    print(table(header, summary))


if __name__ == "__main__":
    main()
