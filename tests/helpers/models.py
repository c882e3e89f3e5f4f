"""Networks small enough to check by hand, and settings of a model small enough to train in seconds."""

from __future__ import annotations

import torch

from threadtag.models.network import HashtagGenerator, ModelConfig

TINY = {  # training sizes for CLI tests: the paper's would take minutes here
    "EMBED_DIM": "64",
    "HIDDEN_SIZE": "64",
    "ENCODER_LAYERS": "1",
    "TRAIN_MAX_EPOCHS": "40",
    "TRAIN_PATIENCE": "40",
    "TRAIN_MIN_LR": "1e-9",
    "TRAIN_BATCH_SIZE": "8",
    "TRAIN_LR": "0.005",
    "BEAM_SIZE": "8",
    # 21 training threads: the dev loss is noise, so 40 epochs at one rate, the last kept (as the sample model)
    "TRAIN_SCHEDULE": "fixed",
    "TRAIN_LR_DECAY": "1",
}


def tiny_config(**fields: object) -> ModelConfig:
    """A network small enough to check by hand: the paper's switches off, `fields` over them."""
    plain: dict[str, object] = {
        "vocab_size": 12,
        "pad_id": 1,
        "embed_dim": 8,
        "hidden_size": 10,
        "encoder_layers": 2,
        "dropout": 0.0,
        "variant": "full",
        "shared_encoder": False,
        "bi_attention_score": "bilinear",
        "input_feeding": False,
        "init_range": 0.0,
        "output_size": 0,
    }
    return ModelConfig(**{**plain, **fields})  # type: ignore[arg-type]


def tiny_model(variant: str = "full", vocab_size: int = 12, seed: int = 0, dropout: float = 0.0) -> HashtagGenerator:
    torch.manual_seed(seed)
    return HashtagGenerator(tiny_config(vocab_size=vocab_size, dropout=dropout, variant=variant)).eval()
