"""Raw tweets in the topic -> rows in PostgreSQL with hashtags: real broker, real database,
real (tiny) model, the stream and inference workers as separate processes."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import SAMPLE_THREADS
from tests.helpers.streaming import stream_env, stream_worker, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.pipeline.replay import replay

pytestmark = pytest.mark.slow


def test_raw_tweets_become_annotated_rows(broker, database_url, sample_model, tmp_path):
    env = stream_env(broker, tmp_path, database_url, conversation_close_seconds=3)
    env.update({"MODEL_PATH": str(sample_model), "INFER_BATCH_WAIT_MS": "100"})
    stream = stream_worker(env, tmp_path / "stream.log").start()
    infer = CommandProcess(["infer"], env, tmp_path / "infer.log").start()
    engine = create_engine(database_url)

    def annotated() -> dict[str, int]:
        with engine.connect() as conn:
            try:
                rows = conn.execute(text("SELECT root_id, max(n_replies) FROM annotations GROUP BY root_id")).all()
            except Exception:  # noqa: BLE001 - tables appear once the worker has migrated
                return {}
        return dict(rows)

    try:
        source = tmp_path / "stream.jsonl"
        source.write_text(SAMPLE_THREADS.read_text() + "{a broken message\n")
        replay(source, broker, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(
            lambda: len(annotated()) == 24 and set(annotated().values()) == {3},
            180,
            "24 annotated threads",
            tmp_path / "infer.log",
        )
        wait_for(lambda: _count(engine, "posts") == 96, 60, "96 stored posts", tmp_path / "stream.log")
        wait_for(lambda: _count(engine, "dead_letters") == 1, 60, "the dead letter row", tmp_path / "stream.log")
    finally:
        infer.stop()
        stream.stop()
    with engine.connect() as conn:
        replies = conn.execute(text("SELECT count(*) FROM posts WHERE root_id <> id")).scalar()
        reason = conn.execute(text("SELECT reason FROM dead_letters")).scalar()
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT (root_id, request_seq)) FROM annotations")
        ).one()
        latest = conn.execute(
            text("SELECT p.text, l.hashtags FROM latest_annotations l JOIN posts p ON p.id = l.root_id")
        ).all()
    engine.dispose()
    assert replies == 72 and reason.startswith("not JSON")
    assert total == distinct  # one row per request
    assert len(latest) == 24
    for _, hashtags in latest:
        assert len(hashtags) == 5 and all(h["tag"] and h["score"] <= 0 for h in hashtags)
    ausopen = [tags for post_text, tags in latest if "Azarenka" in post_text]
    assert ausopen and "aus open" in [h["tag"] for h in ausopen[0]]


def _count(engine, relation: str) -> int:
    with engine.connect() as conn:
        try:
            return int(conn.execute(text(f"SELECT count(*) FROM {relation}")).scalar())
        except Exception:  # noqa: BLE001 - before the first migration
            return -1
