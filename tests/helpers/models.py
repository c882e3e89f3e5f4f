"""Networks small enough to check by hand."""

from __future__ import annotations

import torch

from threadtag.models.network import HashtagGenerator, ModelConfig


def tiny_model(variant: str = "full", vocab_size: int = 12, seed: int = 0, dropout: float = 0.0) -> HashtagGenerator:
    torch.manual_seed(seed)
    config = ModelConfig(
        vocab_size=vocab_size, pad_id=1, embed_dim=8, hidden_size=10, encoder_layers=2, dropout=dropout, variant=variant
    )
    return HashtagGenerator(config).eval()
