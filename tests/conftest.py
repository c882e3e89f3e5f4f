from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sqlalchemy import create_engine, text

from threadtag.core.settings import Settings
from threadtag.models.network import HashtagGenerator, ModelConfig

ROOT = Path(__file__).resolve().parents[1]
LOCAL_DB = Settings().local_database_url
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE_THREADS = ROOT / "samples" / "threads.jsonl"


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """A real Kafka-protocol broker (embedded Tansu) shared by the tests; its address."""
    from threadtag.core.broker import EmbeddedBroker

    with EmbeddedBroker() as running:
        yield running.bootstrap


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database on the local server, dropped afterwards."""
    name = f"tt_{uuid.uuid4().hex[:10]}"
    admin = create_engine(LOCAL_DB, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {LOCAL_DB}: {exc}")
    yield LOCAL_DB.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small model on the bundled sample threads, trained once per test session."""
    from threadtag.app import recipes

    path = tmp_path_factory.mktemp("model") / "sample.pt"
    recipes.train_sample_model(Settings(), path, progress=False)
    return path


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
