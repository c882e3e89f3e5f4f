"""Train-and-score runs over seeds or folds, and their summary: comparisons that one split
and one seed cannot decide (on 400 posts one top-1 hit moves F1@1 by 0.24 points)."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.corpus import Example
from threadtag.models.evaluation import TABLE_COLUMNS, evaluate, markdown_table
from threadtag.models.splits import kfold, tail_split


@dataclass(frozen=True)
class Split:
    seed: int
    fold: int | None  # None: the fixed dev split
    folds: int

    @property
    def label(self) -> str:
        return f"seed {self.seed}" if self.fold is None else f"fold {self.fold + 1}/{self.folds}"


@dataclass(frozen=True)
class RunResult:
    config: str
    variant: str
    split: Split
    scores: dict[str, float]  # percent, keyed by Scores field
    distinct_top1: int
    epochs: int
    kept_epoch: int
    kept_dev_loss: float
    train_seconds: float
    eval_seconds: float


def plan(seeds: Sequence[int], folds: int) -> list[Split]:
    """One split per seed on the dev split, or each of `folds` folds with the first seed."""
    if folds:
        return [Split(seeds[0], fold, folds) for fold in range(folds)]
    return [Split(seed, None, 0) for seed in seeds]


def examples_for(split: Split, examples: Sequence[Example], dev_size: int) -> tuple[list[Example], list[Example]]:
    if split.fold is None:
        return tail_split(examples, dev_size)
    return kfold(examples, split.folds, split.fold)


def train_and_score(
    settings: Settings, examples: Sequence[Example], split: Split, variant: str, config: str = "settings"
) -> RunResult:
    """Train `variant` with `settings` (seed from the split) and score it on the held-out part."""
    seeded = settings.model_copy(update={"train_seed": split.seed})
    train, held_out = examples_for(split, examples, settings.weibo_dev_lines)
    started = time.perf_counter()
    checkpoint = recipes.fit(seeded, train, held_out, variant=variant, progress=False)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = evaluate(recipes.predictor(checkpoint, seeded), held_out, progress=False)
    training = checkpoint.training
    return RunResult(
        config=config,
        variant=variant,
        split=split,
        scores={field: 100 * getattr(result.scores, field) for _, field in TABLE_COLUMNS},
        distinct_top1=len({p[0].tag for p in result.predictions if p}),
        epochs=len(training["epochs"]),
        kept_epoch=training["kept_epoch"],
        kept_dev_loss=training["kept_dev_loss"],
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - started,
    )


def report(results: Sequence[RunResult]) -> str:
    """Per-run rows; means per (config, variant) with the spread of F1@1; and full minus
    post-only F1@1, paired by split, with its standard error, where both ran."""
    names = [n for n, _ in TABLE_COLUMNS]
    fields = [f for _, f in TABLE_COLUMNS]
    groups: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    rows = []
    for r in results:
        groups[(r.config, r.variant)].append(r)
        rows.append(
            [
                r.config,
                r.variant,
                r.split.label,
                *(f"{r.scores[f]:.2f}" for f in fields),
                r.distinct_top1,
                f"{r.kept_dev_loss:.3f}",
                f"{r.kept_epoch}/{r.epochs}",
                f"{r.train_seconds:.0f}",
            ]
        )
    header = ["config", "model", "split", *names, "distinct top-1", "dev loss", "kept/epochs", "train s"]
    out = [markdown_table(header, rows)]
    means = []
    for (config, variant), runs in groups.items():
        f1 = [r.scores["f1_at_1"] for r in runs]
        spread = statistics.stdev(f1) if len(f1) > 1 else 0.0
        cols = [statistics.fmean(r.scores[f] for r in runs) for f in fields]
        means.append([config, variant, len(runs), f"{cols[0]:.2f} ± {spread:.2f}", *(f"{c:.2f}" for c in cols[1:])])
    out += ["", markdown_table(["config", "model", "runs", f"{names[0]} (mean ± sd)", *names[1:]], means)]
    gaps = []
    for config in dict.fromkeys(c for c, _ in groups):
        full = {r.split: r for r in groups.get((config, "full"), [])}
        post = {r.split: r for r in groups.get((config, "seq2seq_post"), [])}
        diffs = [full[s].scores["f1_at_1"] - post[s].scores["f1_at_1"] for s in full if s in post]
        if diffs:
            error = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
            gaps.append([config, len(diffs), f"{statistics.fmean(diffs):+.2f}", f"{error:.2f}"])
    if gaps:
        out += ["", markdown_table(["config", "pairs", "full − post F1@1", "standard error"], gaps)]
    return "\n".join(out)
