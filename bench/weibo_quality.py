"""Train the full model and the post-only seq2seq on the shared Weibo data with the paper's
sizes, then score both on the fixed dev split (the last WEIBO_DEV_LINES lines).

    .venv/bin/python -m bench.weibo_quality [--seeds 13 14 15] [--reuse]

--reuse scores runs/weibo-<variant>-s<seed>.pt where present instead of training it again.
The post-only seq2seq is the baseline, trained and scored in the same run; each variant is
trained once per seed, and the last rows give the mean over seeds (400 dev posts make a
single run's F1@1 move by about 0.24 points per post).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import WEIBO, machine, table
from threadtag.app import recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import load_weibo
from threadtag.models.evaluation import TABLE_COLUMNS, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--reuse", action="store_true", help="score existing runs/weibo-<variant>.pt instead of training"
    )
    parser.add_argument("--variants", nargs="+", default=["full", "seq2seq_post"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[13])
    args = parser.parse_args()
    settings = get_settings()
    configure_logging("WARNING")
    examples = load_weibo(WEIBO)
    train, dev = examples[: -settings.weibo_dev_lines], examples[-settings.weibo_dev_lines :]
    rows, by_variant = [], {}
    for seed in args.seeds:
        seeded = settings.model_copy(update={"train_seed": seed})
        for variant in args.variants:
            path = Path("runs") / f"weibo-{variant}-s{seed}.pt"
            if args.reuse and path.exists():
                checkpoint = Checkpoint.load(path, recipes.device(settings))
            else:
                checkpoint = recipes.fit(seeded, train, dev, variant=variant, progress=False)
                checkpoint.save(path)
            started = time.perf_counter()
            scores = evaluate(recipes.predictor(checkpoint, settings), dev, progress=False).scores
            eval_seconds = time.perf_counter() - started
            epochs = checkpoint.training["epochs"]
            best = min(epochs, key=lambda e: e["dev_loss"])
            values = [100 * getattr(scores, f) for _, f in TABLE_COLUMNS]
            by_variant.setdefault(variant, []).append(values)
            per_epoch = sum(e["seconds"] for e in epochs) / len(epochs)
            rows.append(
                [variant, seed, *(f"{v:.2f}" for v in values), f"{best['dev_loss']:.3f}", len(epochs), best["epoch"]]
                + [f"{per_epoch:.0f}", f"{sum(e['seconds'] for e in epochs) / 60:.1f}", f"{eval_seconds:.0f}"]
            )
    for variant, runs in by_variant.items():
        means = [sum(col) / len(col) for col in zip(*runs)]
        rows.append([f"**{variant} mean**", len(runs), *(f"{m:.2f}" for m in means)] + [""] * 6)
    print(f"machine: {machine()}")
    print(
        f"train posts {len(train)}, dev posts {len(dev)} (last {settings.weibo_dev_lines} lines), "
        f"beam {settings.beam_size}"
    )
    header = [
        "model",
        "seed",
        *(n for n, _ in TABLE_COLUMNS),
        "dev loss",
        "epochs",
        "best",
        "s/epoch",
        "train min",
        "eval s",
    ]
    print(table(header, rows))


if __name__ == "__main__":
    main()
