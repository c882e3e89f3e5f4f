"""Helpers for tests against the real embedded broker: worker processes and topic reads."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from threadtag.pipeline.topology import create_topics

from threadtag.processes import CommandProcess, child_env
from threadtag.settings import Settings

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


def stream_env(bootstrap: str, tmp: Path, **overrides: object) -> dict[str, str]:
    """Environment for worker processes of one test: its own topics (created here) and
    consumer group on the shared broker, short timeouts."""
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        kafka_producer_max_batch_bytes=1,
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
    """Every (key, value) of `topic`, read up to the end offsets taken at the start.

    (End offsets are exact here because every producer in the tests sends one record per
    batch; see pipeline/broker.py.)"""
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
    while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend((r.key, r.value) for r in batch)
    consumer.close()
    return records


def read_all(bootstrap: str, topic: str, timeout: float = 15.0) -> list[bytes]:
    """Every value of `topic`, tombstones left out (see read_records)."""
    return [value for _, value in read_records(bootstrap, topic, timeout) if value is not None]


def table_state(bootstrap: str, changelog: str) -> dict[str, object]:
    """What a worker restoring from `changelog` would hold: each key's last value, tombstoned
    keys (value None) left out, as faust's memory store replays it."""
    state: dict[str, object] = {}
    for key, value in read_records(bootstrap, changelog):
        assert key is not None
        state[json.loads(key)] = None if value is None else json.loads(value)
    return {key: value for key, value in state.items() if value is not None}


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
        time.sleep(1.0)
    detail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{detail}")


def final_conversations(bootstrap: str, topic: str) -> dict[str, list[str]]:
    """Root id -> reply ids of the newest final request for that root."""
    finals: dict[str, tuple[int, list[str]]] = {}
    for value in read_all(bootstrap, topic):
        request = json.loads(value)
        if request["reason"] == "final" and request["seq"] >= finals.get(request["root_id"], (0, []))[0]:
            finals[request["root_id"]] = (request["seq"], [p["id"] for p in request["replies"]])
    return {root: replies for root, (_, replies) in finals.items()}
