"""What every sink worker shares: dynamic batches from Kafka, and database retries with backoff."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy.exc import OperationalError
from threadtag.pipeline.kafka_security import kafka_python_options

from threadtag import metrics
from threadtag.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")


def consumer(settings: Settings, topics: list[str], group_id: str) -> KafkaConsumer:
    """A consumer that never commits on its own: sinks commit after their rows are stored."""
    return KafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.kafka_heartbeat_interval_s * 1000),
        **kafka_python_options(settings),
    )


def collect(source: KafkaConsumer, max_records: int, wait_ms: int) -> list[ConsumerRecord]:
    """Up to `max_records` records, waiting at most `wait_ms` after the first one arrived."""
    records: list[ConsumerRecord] = []
    deadline: float | None = None
    while len(records) < max_records:
        timeout = 1000 if deadline is None else max(0, int(1000 * (deadline - time.monotonic())))
        for batch in source.poll(timeout_ms=timeout, max_records=max_records - len(records)).values():
            records.extend(batch)
        if records and deadline is None:
            deadline = time.monotonic() + wait_ms / 1000
        if deadline is None or time.monotonic() >= deadline:
            break
    return records


def with_db_retry(write: Callable[[], T], max_backoff: float, stop: threading.Event) -> T:
    """Run `write` until the database takes it; back off while it refuses connections."""
    delay = 0.5
    while True:
        try:
            return write()
        except OperationalError as exc:
            metrics.set_ready(False)
            log.warning("database unavailable, retrying", error=str(exc).splitlines()[0], retry_in=delay)
            if stop.wait(delay):
                raise
            delay = min(max_backoff, delay * 2)


def run_sink(
    source: KafkaConsumer,
    batch_size: int,
    batch_wait_ms: int,
    max_backoff: float,
    stop: threading.Event,
    prepare: Callable[[list[ConsumerRecord]], Callable[[], object]],
) -> None:
    """Consume batches until `stop`: `prepare` turns a batch into a database write, which is
    retried while the database is away; offsets are committed only once it succeeded."""
    while not stop.is_set():
        records = collect(source, batch_size, batch_wait_ms)
        metrics.set_ready(True)  # polling; a database outage clears it until a write succeeds
        if records:
            with_db_retry(prepare(records), max_backoff, stop)
            metrics.set_ready(True)
            source.commit()
            metrics.BATCH_SIZE.observe(len(records))
            for record in records:
                metrics.MESSAGES_IN.labels(record.topic).inc()
