"""What the inference worker's tests share: the sample threads stored as the stream would
have, requests for them, and the worker's environment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine

from tests.helpers.paths import SAMPLE_THREADS
from tests.helpers.streaming import store_posts, stream_env
from threadtag.app.schema import migrate
from threadtag.models.corpus import assemble_threads, read_tweets
from threadtag.schemas.events import AnnotationRequest
from threadtag.schemas.posts import Post


def stored_sample(database_url: str) -> tuple[Engine, list[Post]]:
    """A migrated database holding the sample threads, stored as the stream would have; its
    engine and the posts."""
    migrate(database_url)
    engine = create_engine(database_url)
    posts = list(read_tweets(SAMPLE_THREADS))
    store_posts(engine, posts)
    return engine, posts


def sample_requests(database_url: str, copies: int) -> list[tuple[int, bytes | None, bytes]]:
    """`copies` requests (seq 1..copies) for each of the 24 sample threads, spread over
    partitions; the threads are stored first, as the stream would have."""
    engine, posts = stored_sample(database_url)
    engine.dispose()
    out = []
    for i, (root, replies) in enumerate(assemble_threads(posts)):
        for seq in range(1, copies + 1):
            request = AnnotationRequest(root_id=root.id, seq=seq, reason="growth", cutoff=min(seq, len(replies)))
            out.append(((i + seq) % 3, root.id.encode(), request.to_bytes()))
    return out


def inference_env(broker: str, database_url: str, model: Path, tmp_path: Path, **overrides: object) -> dict[str, str]:
    """The inference worker's environment for the tests: small batches, short waits."""
    env = stream_env(
        broker,
        tmp_path,
        database_url,
        infer_batch_size=8,
        infer_batch_wait_ms=50,
        db_max_backoff_seconds=1,
        **overrides,
    )
    env.update({"MODEL_PATH": str(model)})
    return env
