"""Hostile input against the real broker and PostgreSQL: every message is stored or
dead-lettered with its reason, no worker exits, and good threads after it are annotated."""

from __future__ import annotations

import json
import time
from functools import partial

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine, create_engine, text

from tests.helpers.hostile import CLASSES
from tests.helpers.streaming import produce, read_all, stream_env, stream_worker, tweet, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.schemas.events import DeadLetter

pytestmark = pytest.mark.slow


def _count(engine: Engine, query: str) -> int:
    """The query's number; -1 before the workers migrated."""
    with engine.connect() as conn:
        try:
            return int(conn.execute(text(query)).scalar_one())
        except Exception:  # noqa: BLE001 - no tables yet
            return -1


def send(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20, acks="all")
    for i, value in enumerate(values):
        producer.send(topic, key=None if value is not None else b"tombstone", value=value, partition=i % 3)
    producer.flush()
    producer.close()


def test_every_hostile_message_is_stored_or_dead_lettered_and_the_stream_goes_on(
    broker, zoned_database_url, sample_model, tmp_path
):
    """On a database whose TimeZone is UTC, and on two that are not."""
    database_url = zoned_database_url
    env = stream_env(broker, tmp_path, database_url, orphan_ttl_seconds=3, conversation_close_seconds=3)
    env.update({"MODEL_PATH": str(sample_model), "INFER_BATCH_WAIT_MS": "100"})
    workers = [
        stream_worker(env, tmp_path / "stream.log").start(),
        CommandProcess(["infer"], env, tmp_path / "infer.log").start(),
    ]
    engine = create_engine(database_url)
    hostile = [(c, 1_000_000 + 100 * n) for n, c in enumerate(CLASSES)]
    good_roots = [f"'{900 + r}'" for r in range(3)]
    good = [tweet(900 + r, None, r) for r in range(3)] + [
        tweet(950 + r, 900 + r, 5, "so true, what a match") for r in range(3)
    ]

    count = partial(_count, engine)

    try:
        send(broker, env["TWEETS_TOPIC"], [m for c, base in hostile for m in c.build(base)] + good)
        want_dead = sum(c.dead for c in CLASSES)
        wait_for(
            lambda: count("SELECT count(*) FROM dead_letters") == want_dead,
            120,
            "the dead letters",
            tmp_path / "stream.log",
        )
        annotated = f"SELECT count(DISTINCT root_id) FROM annotations WHERE root_id IN ({','.join(good_roots)})"
        wait_for(lambda: count(annotated) == 3, 120, "the good threads annotated", tmp_path / "infer.log")
        alive = [w.process is not None and w.process.poll() is None for w in workers]
        stopping = []
        for worker in workers:  # SIGTERM: each exits by itself (a worker still there after 30 s is killed: -9)
            worker.stop(timeout=30)
            stopping.append(worker.process.returncode if worker.process else None)
    finally:
        for worker in workers:
            worker.stop()
    assert alive == [True, True]
    assert all(code in (0, -15) for code in stopping), stopping
    with engine.connect() as conn:
        reasons = [r for (r,) in conn.execute(text("SELECT reason FROM dead_letters"))]
        stored = dict(conn.execute(text("SELECT id, text FROM posts")).all())
    engine.dispose()
    for hostile_class, base in hostile:
        if hostile_class.dead:
            assert sum(hostile_class.reason in r for r in reasons) >= hostile_class.dead, (hostile_class.name, reasons)
        assert sum(1 for i in stored if base <= int(i) < base + 100) == hostile_class.stored, hostile_class.name
    assert stored["1000000"] == "beforeafter words"  # NUL removed, the post kept
    base_of = {c.name.split(",")[0]: base for c, base in hostile}
    assert stored[str(base_of["SQL in the text"])] == "'); DROP TABLE posts; -- words"
    surrogates = base_of["lone surrogates in the text and a nested user field"]
    assert stored[str(surrogates)] == "half \ufffd a character"  # replaced, the post kept
    assert len(stored) == sum(c.stored for c in CLASSES) + len(good)
    letters = [DeadLetter.model_validate_json(v) for v in read_all(broker, env["DEAD_LETTER_TOPIC"])]
    big = next(d for d in letters if "exceeds the limit" in d.reason)
    assert big.truncated and big.payload_bytes > 5_000_000 and big.offset is not None
    assert len(big.to_bytes()) < 1_000_000 and json.loads(big.to_bytes())["source_topic"] == env["TWEETS_TOPIC"]


def test_replies_at_the_ends_of_the_years_before_their_roots_on_two_workers_off_utc(
    broker, off_utc_database_url, tmp_path
):
    """A year-1 reply, then 4 s later its root; then 40 such pairs at once, each reply and its
    root on different partitions (two workers racing), and an ordinary thread after them: every
    root stored, every reply joined, no dead letter, both workers alive, the thread asked for."""
    env = stream_env(broker, tmp_path, off_utc_database_url)
    workers = [stream_worker(env, tmp_path / f"stream{i}.log").start() for i in range(2)]
    engine = create_engine(off_utc_database_url)

    def edge_reply(pid: int, parent: int, created_at: str) -> bytes:
        return json.dumps({**json.loads(tweet(pid, parent, 0)), "created_at": created_at}).encode()

    count = partial(_count, engine)

    try:
        wait_for(lambda: count("SELECT count(*) FROM posts") == 0, 60, "the workers' migration")
        produce(broker, env["TWEETS_TOPIC"], [(0, None, edge_reply(8001, 8000, "Mon Jan 01 00:00:00 +0000 0001"))])
        time.sleep(4)
        produce(broker, env["TWEETS_TOPIC"], [(1, None, tweet(8000, None, 0))])
        edges = ["Mon Jan 01 00:00:00 +0000 0001", "Fri Dec 31 23:59:59 +0000 9999"]
        pairs = [(i % 3, None, edge_reply(8101 + 2 * i, 8100 + 2 * i, edges[i % 2])) for i in range(40)]
        pairs += [((i + 1) % 3, None, tweet(8100 + 2 * i, None, 0)) for i in range(40)]
        produce(broker, env["TWEETS_TOPIC"], pairs)
        produce(broker, env["TWEETS_TOPIC"], [(2, None, tweet(8900, None, 0)), (0, None, tweet(8901, 8900, 1))])
        joined = "SELECT count(*) FROM posts WHERE root_id IS NOT NULL"
        wait_for(lambda: count(joined) == 84, 60, "every post joined its root", tmp_path / "stream0.log")
        asked = "SELECT count(*) FROM conversations WHERE root_id = '8900' AND sent_seq > 0"
        wait_for(lambda: count(asked) == 1, 60, "the ordinary thread asked for", tmp_path / "stream1.log")
        alive = [w.process is not None and w.process.poll() is None for w in workers]
    finally:
        for worker in workers:
            worker.stop()
    assert alive == [True, True]
    assert count("SELECT count(*) FROM dead_letters") == 0
    assert count("SELECT count(*) FROM posts WHERE id = '8000' AND root_id = '8000'") == 1
    engine.dispose()
