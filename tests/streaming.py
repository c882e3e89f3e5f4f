"""Helpers for tests against the real embedded broker: worker processes and topic reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.topology import create_topics
from threadtag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
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


def stream_env(bootstrap: str, tmp: Path, **overrides: str) -> dict[str, str]:
    """Settings for one test: its own topics (created here) and consumer group on the shared broker."""
    tag = uuid.uuid4().hex[:8]
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_PRODUCER_MAX_BATCH_BYTES": "1",
            "KAFKA_SESSION_TIMEOUT_S": "6",
            "KAFKA_HEARTBEAT_INTERVAL_S": "1",
            "KAFKA_PARTITIONS": "3",
            "TWEETS_TOPIC": f"tweets-{tag}",
            "LINKS_TOPIC": f"links-{tag}",
            "CONVERSATIONS_TOPIC": f"conv-{tag}",
            "REQUESTS_TOPIC": f"requests-{tag}",
            "DEAD_LETTER_TOPIC": f"dlq-{tag}",
            "STREAM_APP_ID": f"app-{tag}",
            "STREAM_DATA_DIR": str(tmp / "stream"),
            "STREAM_TICK_SECONDS": "0.5",
            "CONVERSATION_CLOSE_SECONDS": "4",
            "ANNOTATE_QUIET_SECONDS": "0.5",
            "ANNOTATE_EVERY_REPLIES": "3",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    create_topics(settings, bootstrap)
    return env


class StreamWorker:
    """`threadtag stream` in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StreamWorker:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "threadtag.cli", "stream"], env=self.env, cwd=ROOT, stdout=handle, stderr=handle
        )
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def produce(bootstrap: str, topic: str, messages: list[tuple[int, bytes | None, bytes]]) -> None:
    """Send (partition, key, value) triples in order."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, batch_size=1, acks="all")
    for partition, key, value in messages:
        producer.send(topic, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()


def read_all(bootstrap: str, topic: str, timeout: float = 15.0) -> list[bytes]:
    """Every message of `topic`, read up to the end offsets taken at the start.

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
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in records)
    consumer.close()
    return values


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
