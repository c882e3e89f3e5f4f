from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.network import HashtagGenerator, ModelConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE_THREADS = ROOT / "samples" / "threads.jsonl"


@pytest.fixture
def weibo_dir() -> Path:
    path = SHARED_DATA / "weibo"
    if not (path / "post.txt").exists():
        pytest.skip(f"needs the shared Weibo data at {path} (present in CI, absent in this checkout)")
    return path


def tiny_model(variant: str = "full", vocab_size: int = 12, seed: int = 0, dropout: float = 0.0) -> HashtagGenerator:
    torch.manual_seed(seed)
    config = ModelConfig(
        vocab_size=vocab_size, pad_id=1, embed_dim=8, hidden_size=10, encoder_layers=2, dropout=dropout, variant=variant
    )
    return HashtagGenerator(config).eval()
