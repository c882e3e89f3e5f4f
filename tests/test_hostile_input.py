"""Hostile input against the real broker and PostgreSQL: every message is stored or
dead-lettered with its reason, no worker exits, and good threads after it are annotated."""

from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from tests.helpers.hostile import CLASSES
from tests.helpers.streaming import read_all, stream_env, stream_worker, tweet, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.schemas.events import DeadLetter

pytestmark = pytest.mark.slow


def send(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20, acks="all")
    for i, value in enumerate(values):
        producer.send(topic, key=None if value is not None else b"tombstone", value=value, partition=i % 3)
    producer.flush()
    producer.close()


def test_every_hostile_message_is_stored_or_dead_lettered_and_the_stream_goes_on(
    broker, database_url, sample_model, tmp_path
):
    env = stream_env(broker, tmp_path, database_url, orphan_ttl_seconds=3, conversation_close_seconds=3)
    env.update({"MODEL_PATH": str(sample_model), "INFER_BATCH_WAIT_MS": "100"})
    workers = [stream_worker(env, tmp_path / "stream.log").start(),
               CommandProcess(["infer"], env, tmp_path / "infer.log").start()]  # fmt: skip
    engine = create_engine(database_url)
    hostile = [(c, 1_000_000 + 100 * n) for n, c in enumerate(CLASSES)]
    good_roots = [f"'{900 + r}'" for r in range(3)]
    good = [tweet(900 + r, None, r) for r in range(3)] + [
        tweet(950 + r, 900 + r, 5, "so true, what a match") for r in range(3)
    ]

    def count(query: str) -> int:
        with engine.connect() as conn:
            try:
                return int(conn.execute(text(query)).scalar_one())
            except Exception:  # noqa: BLE001 - before the workers migrated
                return -1

    try:
        send(broker, env["TWEETS_TOPIC"], [m for c, base in hostile for m in c.build(base)] + good)
        want_dead = sum(c.dead for c in CLASSES)
        wait_for(lambda: count("SELECT count(*) FROM dead_letters") == want_dead, 120, "the dead letters",
                 tmp_path / "stream.log")  # fmt: skip
        annotated = f"SELECT count(DISTINCT root_id) FROM annotations WHERE root_id IN ({','.join(good_roots)})"
        wait_for(lambda: count(annotated) == 3, 120, "the good threads annotated", tmp_path / "infer.log")
        alive = [w.process is not None and w.process.poll() is None for w in workers]
        stopping = []
        for worker in workers:  # SIGTERM: each exits by itself, in bounded time
            started = time.monotonic()
            worker.stop(timeout=30)
            stopping.append((time.monotonic() - started, worker.process.returncode if worker.process else None))
    finally:
        for worker in workers:
            worker.stop()
    assert alive == [True, True]
    assert all(seconds < 15 and code in (0, -15) for seconds, code in stopping), stopping
    with engine.connect() as conn:
        reasons = [r for (r,) in conn.execute(text("SELECT reason FROM dead_letters"))]
        stored = dict(conn.execute(text("SELECT id, text FROM posts")).all())
    engine.dispose()
    for hostile_class, base in hostile:
        if hostile_class.dead:
            assert sum(hostile_class.reason in r for r in reasons) >= hostile_class.dead, (hostile_class.name, reasons)
        assert sum(1 for i in stored if base <= int(i) < base + 100) == hostile_class.stored, hostile_class.name
    assert stored["1000000"] == "beforeafter words"  # NUL removed, the post kept
    assert stored["1000900"] == "'); DROP TABLE posts; -- words"
    surrogates = next(base for c, base in hostile if c.name.startswith("lone surrogates"))
    assert stored[str(surrogates)] == "half \ufffd a character"  # replaced, the post kept
    assert len(stored) == sum(c.stored for c in CLASSES) + len(good)
    letters = [DeadLetter.model_validate_json(v) for v in read_all(broker, env["DEAD_LETTER_TOPIC"])]
    big = next(d for d in letters if "exceeds the limit" in d.reason)
    assert big.truncated and big.payload_bytes > 5_000_000 and big.offset is not None
    assert len(big.to_bytes()) < 1_000_000 and json.loads(big.to_bytes())["source_topic"] == env["TWEETS_TOPIC"]
