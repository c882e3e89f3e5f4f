"""How every command trains and loads models: the generator, the hybrid ranker around it, the
sample model, predictors for checkpoints (the configurations come from app/configs.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from threadtag import samples
from threadtag.app.configs import (
    device,
    hybrid_config,
    model_config,
    reranker_config,
    retrieval_config,
    text_limits,
    train_config,
    vocab_config,
)
from threadtag.core.failures import UsageError
from threadtag.core.settings import Settings
from threadtag.models.annotator import Annotator, HybridAnnotator, HybridModel
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example, load_tweet_threads, read_tweets
from threadtag.models.hybrid_training import fit_hybrid
from threadtag.models.inventory import HashtagInventory
from threadtag.models.predictor import HashtagPredictor, RankedHashtag
from threadtag.models.splits import kfold
from threadtag.models.training import train

SAMPLE_THREADS = Path(samples.__file__).parent / "threads.jsonl"


def fit(
    settings: Settings,
    train_examples: list[Example],
    dev_examples: list[Example],
    variant: str | None = None,
    max_epochs: int | None = None,
    small: bool = False,
    progress: bool = True,
    init: Checkpoint | None = None,
    with_ranker: bool = False,
) -> Checkpoint:
    """Train the generator on the examples with these settings (`init` = continue from that
    checkpoint); `with_ranker` and HYBRID: the hybrid ranker around it too (what `train` saves)."""
    lang = train_examples[0].lang
    checkpoint = train(
        train_examples,
        dev_examples,
        model_config(settings, variant, small),
        text_limits(settings, lang),
        train_config(settings, max_epochs, small),
        vocab_config(settings, lang),
        device(settings),
        progress,
        init=init,
    )
    if not (with_ranker and settings.hybrid):
        return checkpoint
    fit_args = {"variant": variant, "max_epochs": max_epochs, "small": small}
    return add_ranker(settings, checkpoint, train_examples, dev_examples, progress, **fit_args)


def inventory(settings: Settings) -> HashtagInventory:
    """The hashtags seen besides the training posts: INVENTORY_PATH's tag lines, if set."""
    found = HashtagInventory()
    if settings.inventory_path is not None:
        found.add_tag_lines(settings.inventory_path)
    return found


def out_of_fold_beams(
    settings: Settings,
    train_examples: list[Example],
    dev_examples: list[Example],
    folds: int,
    progress: bool,
    **fit_args,
) -> list[list[RankedHashtag]]:
    """Each training post's beam from a generator trained on the other folds."""
    beams: list[list[RankedHashtag]] = []
    for fold in range(folds):
        rest, held = kfold(train_examples, folds, fold)
        checkpoint = fit(settings, rest, dev_examples, progress=progress, **fit_args)
        beams.extend(hybrid_generator(checkpoint, settings).predict_examples(held))
    return beams


def add_ranker(
    settings: Settings,
    checkpoint: Checkpoint,
    train_examples: list[Example],
    dev_examples: list[Example],
    progress: bool = False,
    **fit_args: Any,
) -> Checkpoint:
    """The hybrid ranker around the checkpoint's generator, fitted on the training posts and
    stored in the checkpoint (with HYBRID_GENERATOR_FOLDS, after that many more generators)."""
    folds = settings.hybrid_generator_folds
    beams = (
        out_of_fold_beams(settings, train_examples, dev_examples, folds, progress, **fit_args) if folds >= 2 else None
    )
    model = fit_hybrid(
        train_examples,
        inventory(settings),
        retrieval_config(settings),
        hybrid_config(settings),
        reranker_config(settings),
        beams,
        settings.reranker_min_queries,
    )
    checkpoint.ranker = model.state(train_examples)
    return checkpoint


def hybrid_annotator(settings: Settings, checkpoint: Checkpoint, train_examples: Sequence[Example]) -> HybridAnnotator:
    """The hybrid path around an already trained generator (compare, crossval)."""
    with_ranker = add_ranker(settings, replace(checkpoint), list(train_examples), [])
    annotator = predictor(with_ranker, settings.model_copy(update={"hybrid": True}))
    assert isinstance(annotator, HybridAnnotator)
    return annotator


def train_sample_model(settings: Settings, out: Path, progress: bool = True) -> Checkpoint:
    """The small model on the bundled sample threads: what runs when no checkpoint is given."""
    examples = load_tweet_threads(SAMPLE_THREADS)
    n_dev = settings.sample_dev_threads
    checkpoint = fit(settings, examples[:-n_dev], examples[-n_dev:], small=True, progress=progress, with_ranker=True)
    checkpoint.save(out)
    return checkpoint


def predictor(
    checkpoint: Checkpoint | Path, settings: Settings, top_k: int | None = None, memo: bool = False
) -> Annotator:
    """What serves the checkpoint: the hybrid annotator where it carries a ranker (and HYBRID
    is on), else the generator alone; `memo`: the generator remembers GENERATOR_MEMO_SIZE
    recent inputs (the inference worker)."""
    loaded = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint, device(settings))
    k = settings.top_k if top_k is None else top_k
    if loaded.ranker is None or not settings.hybrid:
        return generator_predictor(loaded, settings, k, memo)
    if not 1 <= k <= settings.beam_size:
        raise ValueError(f"top-k must be between 1 and the beam size ({settings.beam_size}), not {k}")
    beam = hybrid_generator(loaded, settings, k, memo)
    model = HybridModel.from_state(loaded.ranker)
    # A serving choice, not the checkpoint's: the beam is searched for this many (above).
    model.config = replace(model.config, beam_candidates=settings.hybrid_beam_candidates)
    return HybridAnnotator(beam, model, k, settings.hybrid_decode)


def generator_predictor(
    checkpoint: Checkpoint,
    settings: Settings,
    top_k: int | None = None,
    memo: bool = False,
    beam_size: int | None = None,
) -> HashtagPredictor:
    """The generator's beam search alone (`beam_size`: the hybrid's width instead of BEAM_SIZE)."""
    return HashtagPredictor(
        checkpoint,
        beam_size=settings.beam_size if beam_size is None else beam_size,
        max_len=settings.beam_max_len,
        top_k=settings.top_k if top_k is None else top_k,
        batch_size=settings.predict_batch_size,
        block_repeats=settings.beam_block_repeats,
        bf16_output=settings.decode_bf16,
        memo_size=settings.generator_memo_size if memo else 0,
    )


def hybrid_generator(
    checkpoint: Checkpoint, settings: Settings, top_k: int | None = None, memo: bool = False
) -> HashtagPredictor:
    """The generator as the hybrid path runs it, in training and serving alike: HYBRID_BEAM_SIZE
    wide, searched until the hashtags it takes as candidates (or the top k) have finished."""
    width = settings.hybrid_beam_size
    k = settings.top_k if top_k is None else top_k
    return generator_predictor(checkpoint, settings, min(width, max(k, settings.hybrid_beam_candidates)), memo, width)


def load_checkpoint(path: Path, settings: Settings) -> Checkpoint:
    return Checkpoint.load(path, device(settings))  # CheckpointError: one line from the command line


def predictor_for(path: Path, settings: Settings, top_k: int | None = None) -> Annotator:
    """The predictor of the checkpoint at `path`; a top-k outside 1..BEAM_SIZE is a usage error."""
    checkpoint = load_checkpoint(path, settings)
    try:
        return predictor(checkpoint, settings, top_k)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@lru_cache(maxsize=1)
def bundled_sample_ids() -> frozenset[str]:
    """Ids of the bundled sample's posts: the main job replays them into the database, and
    the sample model trained on them, so they say nothing about a model of real data."""
    return frozenset(post.id for post in read_tweets(SAMPLE_THREADS))
