"""Settings -> model, training and decoding configurations, in one place for every command."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from threadtag import samples
from threadtag.core.failures import UsageError
from threadtag.core.settings import Settings
from threadtag.models.batching import TextLimits
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example, load_tweet_threads, read_tweets
from threadtag.models.device import resolve_device
from threadtag.models.predictor import HashtagPredictor
from threadtag.models.training import TrainConfig, VocabConfig, train

SAMPLE_THREADS = Path(samples.__file__).parent / "threads.jsonl"


def device(settings: Settings) -> torch.device:
    return resolve_device(settings.device, settings.torch_threads)


def text_limits(settings: Settings, lang: str) -> TextLimits:
    return TextLimits(settings.post_max_len(lang), settings.conv_max_len, settings.tag_max_len)


def model_config(settings: Settings, variant: str | None = None, small: bool = False) -> dict[str, object]:
    """ModelConfig fields other than the vocabulary's; `small` = the sample model's sizes."""
    return {
        "embed_dim": settings.sample_embed_dim if small else settings.embed_dim,
        "hidden_size": settings.sample_hidden_size if small else settings.hidden_size,
        "encoder_layers": settings.sample_encoder_layers if small else settings.encoder_layers,
        "dropout": settings.dropout,
        "variant": variant or settings.model_variant,
        "shared_encoder": settings.shared_encoder,
        "bi_attention_score": settings.bi_attention_score,
        "input_feeding": settings.input_feeding,
        "init_range": settings.init_range,
    }


def vocab_config(settings: Settings, lang: str) -> VocabConfig:
    return VocabConfig(settings.vocab_size(lang), settings.vocab_min_freq, settings.output_vocab == "hashtag")


def train_config(settings: Settings, max_epochs: int | None = None, small: bool = False) -> TrainConfig:
    return TrainConfig(
        lr=settings.sample_train_lr if small else settings.train_lr,
        batch_size=settings.sample_train_batch_size if small else settings.train_batch_size,
        grad_clip=settings.train_grad_clip,
        # The sample is tiny: its dev loss is noise, so it trains a fixed number of epochs at
        # one rate and keeps the last.
        lr_decay=1.0 if small else settings.train_lr_decay,
        min_lr=settings.train_min_lr,
        patience=settings.train_patience,
        max_epochs=max_epochs or (settings.sample_train_epochs if small else settings.train_max_epochs),
        seed=settings.train_seed,
        schedule="fixed" if small else settings.train_schedule,
    )


def fit(
    settings: Settings,
    train_examples: list[Example],
    dev_examples: list[Example],
    variant: str | None = None,
    max_epochs: int | None = None,
    small: bool = False,
    progress: bool = True,
    init: Checkpoint | None = None,
) -> Checkpoint:
    """Train on the examples with these settings; `init` = continue from that checkpoint."""
    lang = train_examples[0].lang
    return train(
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


def train_sample_model(settings: Settings, out: Path, progress: bool = True) -> Checkpoint:
    """The small model on the bundled sample threads: what runs when no checkpoint is given."""
    examples = load_tweet_threads(SAMPLE_THREADS)
    n_dev = settings.sample_dev_threads
    checkpoint = fit(settings, examples[:-n_dev], examples[-n_dev:], small=True, progress=progress)
    checkpoint.save(out)
    return checkpoint


def predictor(checkpoint: Checkpoint | Path, settings: Settings, top_k: int | None = None) -> HashtagPredictor:
    loaded = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint, device(settings))
    return HashtagPredictor(
        loaded,
        beam_size=settings.beam_size,
        max_len=settings.beam_max_len,
        top_k=settings.top_k if top_k is None else top_k,
        batch_size=settings.predict_batch_size,
        block_repeats=settings.beam_block_repeats,
        bf16_output=settings.decode_bf16,
    )


def load_checkpoint(path: Path, settings: Settings) -> Checkpoint:
    return Checkpoint.load(path, device(settings))  # CheckpointError: one line from the command line


def predictor_for(path: Path, settings: Settings, top_k: int | None = None) -> HashtagPredictor:
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
