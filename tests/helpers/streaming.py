"""Helpers for tests against the real embedded broker: worker processes and topic reads."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import Engine, create_engine, text

from tests.helpers.paths import SAMPLE_THREADS
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import create_topics
from threadtag.core.settings import Settings
from threadtag.models.corpus import assemble_threads, read_tweets
from threadtag.pipeline import assembly
from threadtag.pipeline.conversations import ConversationPolicy
from threadtag.pipeline.normalize import Dropped, is_kept
from threadtag.pipeline.stream_worker import policy_of
from threadtag.schemas.events import AnnotationRequest
from threadtag.schemas.posts import Post

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def tweet(pid: int, parent: int | None, minute: int, text: str = "some words here") -> bytes:
    """A Twitter v1.1 tweet as raw bytes."""
    return json.dumps(
        {
            "id_str": str(pid),
            "in_reply_to_status_id_str": None if parent is None else str(parent),
            "created_at": (T0 + timedelta(minutes=minute)).strftime("%a %b %d %H:%M:%S %z %Y"),
            "text": text,
            "user": {"id_str": "u"},
        }
    ).encode()


def stream_env(bootstrap: str, tmp: Path, database_url: str, **overrides: object) -> dict[str, str]:
    """Environment for worker processes of one test: its own topics (created here) and
    consumer group on the shared broker, its own database, short timeouts."""
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,
        kafka_session_timeout_s=6,
        kafka_heartbeat_interval_s=1,
        kafka_partitions=3,
        stream_data_dir=tmp / "stream",
        stream_tick_seconds=0.5,
        conversation_close_seconds=4,
        annotate_quiet_seconds=0.5,
        annotate_every_replies=3,
        metrics_port=0,  # many workers on one host; tests/test_worker_metrics.py turns it on
    ).namespaced(uuid.uuid4().hex[:8])
    settings = settings.model_copy(update=overrides)
    create_topics(settings, bootstrap)
    return child_env(settings)


def stream_worker(env: dict[str, str], log: Path) -> CommandProcess:
    return CommandProcess(["stream"], env, log)


def produce(bootstrap: str, topic: str, messages: list[tuple[int, bytes | None, bytes]]) -> None:
    """Send (partition, key, value) triples in order."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, batch_size=1, acks="all")
    for partition, key, value in messages:
        producer.send(topic, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()


def read_records(bootstrap: str, topic: str, timeout: float = 15.0) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) of `topic`: up to the end offsets taken at the start, then on until
    a poll brings nothing (the embedded broker's end offsets can fall short of a batch's
    last records; see threadtag/core/broker.py)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not tps:
        consumer.close()
        return []
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    records: list[tuple[bytes | None, bytes | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polled = [r for batch in consumer.poll(timeout_ms=500).values() for r in batch]
        records.extend((r.key, r.value) for r in polled)
        if not polled and all(consumer.position(tp) >= end[tp] for tp in tps):
            break
    consumer.close()
    return records


def read_all(bootstrap: str, topic: str, timeout: float = 15.0) -> list[bytes]:
    """Every value of `topic`, tombstones left out (see read_records)."""
    return [value for _, value in read_records(bootstrap, topic, timeout) if value is not None]


def fully_committed(bootstrap: str, group: str, topic: str) -> bool:
    """Whether consumer group `group` has committed every message of `topic`."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        end = consumer.end_offsets(tps)
        return all((consumer.committed(tp) or 0) >= end[tp] for tp in tps)
    finally:
        consumer.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    detail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{detail}")


def final_conversations(bootstrap: str, topic: str, database_url: str) -> dict[str, list[str]]:
    """Root id -> reply ids (time order) of the newest final request for that root, read
    from PostgreSQL up to the request's cutoff as an inference worker reads them."""
    finals: dict[str, tuple[int, int]] = {}
    for value in read_all(bootstrap, topic):
        request = json.loads(value)
        if request["reason"] == "final" and request["seq"] >= finals.get(request["root_id"], (0, 0))[0]:
            finals[request["root_id"]] = (request["seq"], request["cutoff"])
    if not finals:
        return {}
    engine = create_engine(database_url)
    query = text(
        "SELECT id FROM posts WHERE root_id = :root AND conv_pos BETWEEN 1 AND :cutoff ORDER BY created_at, id"
    )
    try:
        with engine.connect() as conn:
            return {
                root: list(conn.execute(query, {"root": root, "cutoff": cutoff}).scalars())
                for root, (_, cutoff) in finals.items()
            }
    finally:
        engine.dispose()


def store_posts(
    engine: Engine,
    posts: Iterable[Post],
    now: float | None = None,
    policy: ConversationPolicy | None = None,
    dropped: Iterable[Dropped] = (),
) -> list[AnnotationRequest]:
    """Store posts as a stream worker stores one batch, without the broker: store, commit,
    sweep, commit; returns the requests it would send."""
    kept = [p for p in posts if is_kept(p)]
    now = time.time() if now is None else now
    policy = policy or policy_of(Settings())
    with engine.begin() as conn:
        stored = assembly.store_batch(conn, kept, list(dropped), [], now, policy, source="tweets", max_payload=10_000)
    with engine.begin() as conn:
        return stored.requests + assembly.sweep(conn, stored.rooted, stored.parked, now, policy)


def store_threads(engine: Engine, path: Path = SAMPLE_THREADS) -> int:
    """Write the threads of a tweets file into `posts`, as the stream would; returns the roots."""
    posts = list(read_tweets(path))
    store_posts(engine, posts)
    return len(assemble_threads(posts))
