"""train, evaluate, crossval, compare: training and scoring on files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from threadtag.cli.main import command
from threadtag.cli.options import DevLastOpt, ProgressOpt, TestOpt, TweetsOpt, WeiboOpt
from threadtag.core.settings import get_settings


@command
def train(
    out: Annotated[Path, typer.Option(help="Where to write the checkpoint (.pt).")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    variant: Annotated[Optional[str], typer.Option(help="Model variant; default MODEL_VARIANT.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option(help="Default TRAIN_MAX_EPOCHS.")] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Train the small sample model on the bundled threads instead.")
    ] = False,
    keep_existing: Annotated[
        bool, typer.Option("--keep-existing", help="Do nothing when --out exists (a deployment's first model).")
    ] = False,
    progress: ProgressOpt = True,
) -> None:
    """Train a hashtag generator; the epoch TRAIN_SCHEDULE keeps is saved."""
    from threadtag.app import research

    settings = get_settings()
    research.train(
        settings,
        out,
        weibo,
        tweets,
        dev_last,
        variant,
        max_epochs,
        sample,
        keep_existing,
        settings.progress_bars(progress),
    )


@command
def evaluate(
    model: Annotated[list[Path], typer.Option(help="Checkpoint(s) to score; repeat for a comparison table.")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    test: TestOpt = None,
    predictions: Annotated[
        Optional[Path], typer.Option(help="Directory for <checkpoint-name>.predictions.jsonl.")
    ] = None,
    progress: ProgressOpt = True,
) -> None:
    """Score checkpoints on the dev split (or --test) with F1@1, F1@5, MAP@5, ROUGE-1 and ROUGE-SU4."""
    from threadtag.app import research

    settings = get_settings()
    research.evaluate(settings, model, weibo, tweets, dev_last, test, predictions, settings.progress_bars(progress))


@command
def crossval(
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    variant: Annotated[
        Optional[list[str]], typer.Option(help="Variant(s) to train; default full and seq2seq_post.")
    ] = None,
    seeds: Annotated[
        Optional[list[int]], typer.Option("--seed", help="Seed(s) on the dev split; default TRAIN_SEED.")
    ] = None,
    folds: Annotated[
        int, typer.Option(help="K-fold cross-validation over all examples instead (seed: the first --seed).")
    ] = 0,
    progress: ProgressOpt = True,
) -> None:
    """Train and score each variant once per seed (dev split) or per fold, and print the runs,
    their means with the spread of F1@1, and full minus post-only: comparisons one run cannot decide."""
    from threadtag.app import research

    settings = get_settings()
    research.crossval(
        settings,
        weibo,
        tweets,
        dev_last,
        variant or ["full", "seq2seq_post"],
        seeds or [],
        folds,
        settings.progress_bars(progress),
    )


@command
def compare(
    out: Annotated[Path, typer.Option(help="Directory for compare.md and the plot.")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    models_dir: Annotated[
        Optional[Path],
        typer.Option(help="Keep the generators' checkpoints here (<variant>.pt) and reuse them on the next run."),
    ] = None,
    test: TestOpt = None,
    progress: ProgressOpt = True,
) -> None:
    """Train and score the paper's systems on one split: RANDOM, TF-IDF, LDA, CNN classifiers,
    RETRIEVAL, SEQ2SEQ, the full model and the HYBRID path around it (Table 4), the six variants
    (Table 6), unseen hashtags (Table 5) and F1@1 by hashtag frequency (Figure 3), into a
    Markdown report."""
    from threadtag.app import research

    settings = get_settings()
    research.compare(settings, out, weibo, tweets, dev_last, models_dir, test, settings.progress_bars(progress))
