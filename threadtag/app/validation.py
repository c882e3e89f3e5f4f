"""Train-and-score runs over seeds or folds, and their summary: comparisons that one split
and one seed cannot decide (on 400 posts one top-1 hit moves F1@1 by 0.24 points)."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from threadtag.app import configs, recipes
from threadtag.core.settings import Settings
from threadtag.models.annotator import Annotator
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.comparison import new_hashtags, unseen
from threadtag.models.corpus import Example
from threadtag.models.evaluation import PERCENT_NOTE, TABLE_COLUMNS, evaluate, markdown_table, score_ranked
from threadtag.models.rankers.retrieval import RetrievalRanker
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
    # Held-out posts whose gold hashtags were never seen: subset -> (posts, F1@1 %, RG-1 %).
    unseen: dict[str, tuple[int, float, float]]


NOT_IN_TRAINING, IN_NEITHER = "not in training", "in neither training nor inventory"
NO_GENERATOR = "hybrid_no_generator"  # the hybrid path with no generator candidate and no beam search
WORDS_ALONE = "retrieval_words"  # the retrieval vote over word TF-IDF alone: the fixed reference
# Paired comparisons the report prints (better, worse): same split, same seed.
PAIRED = (
    ("full", "seq2seq_post"),
    ("hybrid", "retrieval"),
    ("hybrid", WORDS_ALONE),
    ("hybrid", "full"),
    ("hybrid", NO_GENERATOR),
)


def plan(seeds: Sequence[int], folds: int) -> list[Split]:
    """One split per seed on the dev split, or each of `folds` folds with the first seed."""
    if folds:
        return [Split(seeds[0], fold, folds) for fold in range(folds)]
    return [Split(seed, None, 0) for seed in seeds]


def examples_for(split: Split, examples: Sequence[Example], dev_size: int) -> tuple[list[Example], list[Example]]:
    if split.fold is None:
        return tail_split(examples, dev_size)
    return kfold(examples, split.folds, split.fold)


@dataclass(frozen=True)
class HeldOut:
    """A split's held-out posts and, by name, those whose gold hashtags were never seen."""

    examples: list[Example]
    unseen: dict[str, list[int]]

    @classmethod
    def of(cls, settings: Settings, train: Sequence[Example], held_out: list[Example]) -> HeldOut:
        known = set(recipes.inventory(settings).counts)
        return cls(
            held_out, {NOT_IN_TRAINING: unseen(train, held_out), IN_NEITHER: new_hashtags(train, held_out, known)}
        )


def _generator_run(
    settings: Settings, examples: Sequence[Example], split: Split, variant: str, config: str
) -> tuple[RunResult, Checkpoint, list[Example], HeldOut]:
    seeded = settings.model_copy(update={"train_seed": split.seed})
    train, held_out = examples_for(split, examples, settings.weibo_dev_lines)
    started = time.perf_counter()
    checkpoint = recipes.fit(seeded, train, held_out, variant=variant, progress=False)
    train_seconds = time.perf_counter() - started
    held = HeldOut.of(seeded, train, held_out)
    run = _scored(config, variant, split, recipes.generator_predictor(checkpoint, seeded), held, train_seconds)
    return run, checkpoint, train, held


def _scored(
    config: str, name: str, split: Split, annotator: Annotator | RetrievalRanker, held: HeldOut, fit_s: float
) -> RunResult:
    started = time.perf_counter()
    held_out = held.examples
    if isinstance(annotator, RetrievalRanker):
        ranked = annotator.rank(held_out, 5)
        scores = score_ranked(ranked, held_out)
        training: dict[str, object] = {}
    else:
        result = evaluate(annotator, held_out, progress=False)  # scored there already
        ranked, scores = [[h.tag for h in p] for p in result.predictions], result.scores
        training = annotator.checkpoint.training
    top1 = [r[0] for r in ranked if r]

    def on(indices: list[int]) -> tuple[int, float, float]:
        if not indices:
            return 0, 0.0, 0.0
        part = score_ranked([ranked[i] for i in indices], [held_out[i] for i in indices])
        return len(indices), 100 * part.f1_at_1, 100 * part.rouge_1

    epochs = training.get("epochs", [])
    return RunResult(
        config=config,
        variant=name,
        split=split,
        scores={field: 100 * getattr(scores, field) for _, field in TABLE_COLUMNS},
        distinct_top1=len(set(top1)),
        epochs=len(epochs) if isinstance(epochs, list) else 0,
        kept_epoch=int(training.get("kept_epoch", 0)),  # type: ignore[call-overload]
        kept_dev_loss=float(training.get("kept_dev_loss", float("nan"))),  # type: ignore[arg-type]
        train_seconds=fit_s,
        eval_seconds=time.perf_counter() - started,
        unseen={subset: on(indices) for subset, indices in held.unseen.items()},
    )


def train_and_score(
    settings: Settings, examples: Sequence[Example], split: Split, variant: str, config: str = "settings"
) -> RunResult:
    """Train the generator `variant` with `settings` (seed from the split) and score it on the held-out part."""
    return _generator_run(settings, examples, split, variant, config)[0]


def train_and_score_all(
    settings: Settings, examples: Sequence[Example], split: Split, variant: str, config: str = "settings"
) -> list[RunResult]:
    """The generator's run and, for the full model with HYBRID, the retrieval baseline (and,
    where retrieval reads character n-grams, the word TF-IDF vote beside it), the hybrid
    path around that same generator and, where its reranker does not read the generator's
    features, the same hybrid without the generator (no candidates, no beam search), on the
    same split."""
    run, checkpoint, train, held = _generator_run(settings, examples, split, variant, config)
    if variant != "full" or not settings.hybrid:
        return [run]
    seeded = settings.model_copy(update={"train_seed": split.seed})
    runs = [run, _retrieval_run(seeded, "retrieval", split, train, held, config)]
    if seeded.retrieval_char_ngrams:
        words = seeded.model_copy(update={"retrieval_char_ngrams": 0})
        runs.append(_retrieval_run(words, WORDS_ALONE, split, train, held, config))
    started = time.perf_counter()
    hybrid = recipes.hybrid_annotator(seeded, checkpoint, train)
    runs.append(_scored(config, "hybrid", split, hybrid, held, time.perf_counter() - started))
    if not hybrid.model.uses_generator_features:
        runs.append(_scored(config, NO_GENERATOR, split, hybrid.without_generator(), held, 0.0))
    return runs


def _retrieval_run(
    settings: Settings, name: str, split: Split, train: list[Example], held: HeldOut, config: str
) -> RunResult:
    started = time.perf_counter()
    retrieval = RetrievalRanker(configs.retrieval_config(settings))
    retrieval.fit(train, [])
    return _scored(config, name, split, retrieval, held, time.perf_counter() - started)


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
    for better, worse in PAIRED:
        gaps = []
        for config in dict.fromkeys(c for c, _ in groups):
            high = {r.split: r for r in groups.get((config, better), [])}
            low = {r.split: r for r in groups.get((config, worse), [])}
            pairs = [(high[s].scores["f1_at_1"], low[s].scores["f1_at_1"]) for s in high if s in low]
            if pairs:
                diffs = [h - lo for h, lo in pairs]
                error = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
                ratio = statistics.fmean(h for h, _ in pairs) / max(1e-9, statistics.fmean(lo for _, lo in pairs))
                gaps.append([config, len(pairs), f"{statistics.fmean(diffs):+.2f}", f"{error:.2f}", f"{ratio:.2f}"])
        if gaps:
            header = ["config", "pairs", f"{better} − {worse} F1@1", "standard error", "ratio of means"]
            out += ["", markdown_table(header, gaps)]
    out += ["", UNSEEN_NOTE, "", markdown_table(*_unseen_table(groups))]
    return "\n".join([*out, "", PERCENT_NOTE])


UNSEEN_NOTE = (
    "Held-out posts none of whose gold hashtags occurs in training, and those of them none of whose "
    "hashtags is in the inventory either (INVENTORY_PATH): hashtags nobody had written, which only a "
    "generator can answer. Pooled over the runs, each post once per run."
)


def _unseen_table(groups: dict[tuple[str, str], list[RunResult]]) -> tuple[list[str], list[list[object]]]:
    header = ["config", "model"]
    for subset in (NOT_IN_TRAINING, IN_NEITHER):
        header += [f"posts, {subset}", f"F1@1, {subset}", f"RG-1, {subset}"]
    rows: list[list[object]] = []
    for (config, variant), runs in groups.items():
        row: list[object] = [config, variant]
        for subset in (NOT_IN_TRAINING, IN_NEITHER):
            parts = [r.unseen[subset] for r in runs]
            posts = sum(n for n, _, _ in parts)
            f1 = sum(n * f for n, f, _ in parts) / posts if posts else 0.0  # a run's mean, weighted by its posts
            rouge = sum(n * g for n, _, g in parts) / posts if posts else 0.0
            row += [posts, f"{f1:.2f}", f"{rouge:.2f}"]
        rows.append(row)
    return header, rows
