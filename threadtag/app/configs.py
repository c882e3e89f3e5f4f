"""Settings -> the model, training, retrieval, hybrid and reranker configurations: the one
place where the settings become the dataclasses the model code takes (which hold the same
defaults; tests/test_settings.py checks they agree)."""

from __future__ import annotations

import torch

from threadtag.core.settings import Settings
from threadtag.models.batching import TextLimits
from threadtag.models.device import resolve_device
from threadtag.models.hybrid import HybridConfig, RerankerConfig
from threadtag.models.retrieval import RetrievalConfig
from threadtag.models.training import TrainConfig, VocabConfig


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


def retrieval_config(settings: Settings) -> RetrievalConfig:
    return RetrievalConfig(
        settings.retrieval_neighbours,
        settings.retrieval_conv_weight,
        settings.retrieval_vote_power,
        settings.retrieval_capacity,
        settings.retrieval_postings_per_word,
        settings.retrieval_query_terms,
        settings.retrieval_char_ngrams,
        settings.retrieval_char_weight,
    )


def hybrid_config(settings: Settings) -> HybridConfig:
    return HybridConfig(
        settings.hybrid_vote_candidates,
        settings.hybrid_beam_candidates,
        settings.hybrid_spelled_candidates,
        settings.hybrid_conv_tokens,
    )


def reranker_config(settings: Settings) -> RerankerConfig:
    return RerankerConfig(
        settings.reranker_trees, settings.reranker_learning_rate, settings.reranker_leaves, seed=settings.train_seed
    )
