"""Training and scoring on files: train, evaluate, crossval, compare."""

from __future__ import annotations

import math
import shlex
import sys
import time
from pathlib import Path

import structlog
import typer
from tqdm import tqdm

from threadtag.app import recipes
from threadtag.app.compare import run_compare
from threadtag.app.validation import plan, report, train_and_score_all
from threadtag.core.failures import UsageError
from threadtag.core.settings import Settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import CorpusError, Example, load_tweet_threads, load_weibo, load_weibo_test, weibo_layout
from threadtag.models.evaluation import evaluate as run_evaluation
from threadtag.models.evaluation import format_table, write_predictions
from threadtag.models.rankers.most_frequent import most_frequent_scores
from threadtag.schemas.variants import VARIANTS, Variant
from threadtag.workers.training_set import unseen_by

log = structlog.get_logger("threadtag")


def load(weibo: Path | None, tweets: Path | None) -> tuple[list[Example], list[Example] | None]:
    """(examples, dev) of exactly one source: dev is the authors' valid_* set where the
    layout fixes one (examples then the train_* set), else None."""
    if (weibo is None) == (tweets is None):
        raise UsageError("give exactly one of --weibo DIR or --tweets FILE")
    if tweets is not None:
        return load_tweet_threads(tweets), None
    assert weibo is not None
    try:
        layout = weibo_layout(weibo)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    if layout == "authors":
        return load_weibo(weibo, split="train"), load_weibo(weibo, split="valid")
    return load_weibo(weibo), None


def split(
    weibo: Path | None, tweets: Path | None, dev_last: int | None, settings: Settings
) -> tuple[list[Example], list[Example]]:
    """(train, dev) examples from exactly one source."""
    examples, dev = load(weibo, tweets)
    if dev is not None:
        if dev_last is not None:
            raise UsageError("--dev-last does not apply to the authors' layout: valid_* is the dev set")
        return examples, dev
    if dev_last is not None:
        n_dev = dev_last
    else:
        n_dev = settings.weibo_dev_lines if weibo is not None else max(1, math.ceil(0.1 * len(examples)))
    if n_dev >= len(examples):
        raise UsageError(f"dev split of {n_dev} leaves no training data ({len(examples)} examples)")
    return examples[:-n_dev], examples[-n_dev:]


def test_set(path: Path) -> list[Example]:
    if not path.exists():
        raise UsageError(f"no test set at {path}")
    try:
        examples = load_weibo_test(path) if path.is_dir() else load_tweet_threads(path)
    except CorpusError as exc:
        raise UsageError(f"test set {path}: {exc}") from None
    if not examples:
        raise UsageError(f"test set {path} has no post with a hashtag")
    return examples


def variants(names: list[str]) -> list[Variant]:
    """The names given on the command line, checked against the variants there are."""
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise UsageError(f"unknown variant {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    return names  # type: ignore[return-value] - checked above


def train(
    settings: Settings,
    out: Path,
    weibo: Path | None,
    tweets: Path | None,
    dev_last: int | None,
    variant: str | None,
    max_epochs: int | None,
    sample: bool,
    keep_existing: bool,
    progress: bool,
) -> None:
    """Train a generator (or the sample model) and save it to `out`."""
    if keep_existing and out.exists():
        typer.echo(f"kept {out}")
        return
    if sample:
        checkpoint = recipes.train_sample_model(settings, out, progress)
        typer.echo(f"saved {out} version={checkpoint.version} (sample model)")
        return
    train_examples, dev_examples = split(weibo, tweets, dev_last, settings)
    started = time.perf_counter()
    chosen = variants([variant])[0] if variant else None
    checkpoint = recipes.fit(
        settings, train_examples, dev_examples, chosen, max_epochs, progress=progress, with_ranker=True
    )
    checkpoint.save(out)
    epochs = checkpoint.training["epochs"]
    typer.echo(
        f"saved {out} version={checkpoint.version} epochs={len(epochs)} "
        f"kept_epoch={checkpoint.training['kept_epoch']} dev_loss={checkpoint.training['kept_dev_loss']:.4f} "
        f"seconds_per_epoch={sum(e['seconds'] for e in epochs) / len(epochs):.1f} "
        f"total_seconds={time.perf_counter() - started:.0f}"
    )
    _warn_if_small(settings, checkpoint, train_examples, dev_examples, progress)


def _warn_if_small(
    settings: Settings, checkpoint: Checkpoint, train: list[Example], dev: list[Example], progress: bool
) -> None:
    """Too few examples, or a model no better than naming the most frequent hashtags, said loudly."""
    if len(train) < settings.train_warn_below_examples:
        log.warning(
            f"only {len(train)} training examples (TRAIN_WARN_BELOW_EXAMPLES={settings.train_warn_below_examples}): "
            "expect a model that gives most posts the same hashtags"
        )
    if not dev:
        return
    scores = run_evaluation(recipes.predictor(checkpoint, settings), dev, progress).scores
    floor = most_frequent_scores(train, dev)
    typer.echo(f"dev F1@1 {100 * scores.f1_at_1:.2f} %, the most frequent hashtags {100 * floor.f1_at_1:.2f} %")
    if scores.f1_at_1 <= floor.f1_at_1:
        log.warning("this model is no better on its dev posts than naming the most frequent hashtags for every post")


def evaluate(
    settings: Settings,
    models: list[Path],
    weibo: Path | None,
    tweets: Path | None,
    dev_last: int | None,
    test: Path | None,
    predictions: Path | None,
    progress: bool,
) -> None:
    """Score each checkpoint on the dev split (or the test set) into one table."""
    if test is not None:
        if weibo is not None or tweets is not None:
            raise UsageError("--test replaces the dev split: leave out --weibo/--tweets")
        dev_examples = test_set(test)
    else:
        _, dev_examples = split(weibo, tweets, dev_last, settings)
    rows = []
    for path in models:
        predictor = recipes.predictor_for(path, settings)
        seen = len(dev_examples) - len(unseen_by(predictor.checkpoint, dev_examples))
        if seen:  # a model scored on what it trained on overstates itself
            log.warning(
                f"{seen} of {len(dev_examples)} posts scored are in this model's training data: scores overstate it",
                model=str(path),
            )
        started = time.perf_counter()
        result = run_evaluation(predictor, dev_examples, progress)
        variant = predictor.checkpoint.model.config.variant
        variant = f"hybrid {variant}" if isinstance(predictor, HybridAnnotator) else variant
        log.info("evaluated", model=str(path), variant=variant, seconds=round(time.perf_counter() - started, 1))
        rows.append((f"{variant} ({path.name})", result.scores))
        if predictions is not None:
            write_predictions(predictions / f"{path.stem}.predictions.jsonl", dev_examples, result.predictions)
    typer.echo(format_table(rows))


def crossval(
    settings: Settings,
    weibo: Path | None,
    tweets: Path | None,
    dev_last: int | None,
    variant_names: list[str],
    seeds: list[int],
    folds: int,
    progress: bool,
) -> None:
    """Each variant trained and scored per seed (dev split) or per fold, then the report."""
    if folds == 1 or folds < 0:
        raise UsageError("--folds must be 0 (dev split) or at least 2")
    if folds:
        loaded, fixed_dev = load(weibo, tweets)
        examples = [*loaded, *(fixed_dev or [])]
    else:
        train_examples, dev_examples = split(weibo, tweets, dev_last, settings)
        examples = [*train_examples, *dev_examples]
        settings = settings.model_copy(update={"weibo_dev_lines": len(dev_examples)})  # the split made above
    splits = plan(seeds or [settings.train_seed], folds)
    runs = [(v, s) for v in variants(variant_names) for s in splits]
    results = []
    for v, s in tqdm(runs, desc="train and score", unit="run", disable=not progress):
        results.extend(train_and_score_all(settings, examples, s, v))
    typer.echo(report(results))


def compare(
    settings: Settings,
    out: Path,
    weibo: Path | None,
    tweets: Path | None,
    dev_last: int | None,
    models_dir: Path | None,
    test: Path | None,
    progress: bool,
) -> None:
    """Every system of the paper's comparison into out/compare.md."""
    train_examples, dev_examples = split(weibo, tweets, dev_last, settings)
    command = "threadtag " + shlex.join(sys.argv[1:])
    test_examples = test_set(test) if test is not None else None
    written = run_compare(settings, train_examples, dev_examples, out, models_dir, command, progress, test_examples)
    typer.echo(written.read_text(encoding="utf-8"))
    typer.echo(f"written: {written}")
