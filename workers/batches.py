"""What every sink worker shares: dynamic batches from Kafka, written with database retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaTimeoutError

from threadtag.core import metrics
from threadtag.core.failures import first_line
from threadtag.core.retries import with_db_retry

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Retry(Protocol):
    """Runs database work until it succeeds, as run_sink retries its writes."""

    def __call__(self, work: Callable[[], T]) -> T: ...


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


def keep_polling(source: KafkaConsumer, stop: threading.Event) -> Callable[[float], bool]:
    """A wait for with_db_retry that keeps the consumer in its group during an outage of any
    length: its partitions are paused and it polls (fetching nothing), so the poll interval
    never expires. The caller resumes them once the write succeeded."""

    def wait(seconds: float) -> bool:
        source.pause(*source.assignment())
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            source.poll(timeout_ms=int(min(left, 1.0) * 1000))
        return stop.is_set()

    return wait


def run_sink(
    source: KafkaConsumer,
    batch_size: int,
    batch_wait_ms: int,
    max_backoff: float,
    stop: threading.Event,
    prepare: Callable[[list[ConsumerRecord], Retry], Callable[[], object]],
) -> None:
    """Consume batches until `stop`: `prepare` turns a batch into a database write (reading
    through the `Retry` it is given), which is retried while the database is away; offsets
    are committed only once it succeeded."""
    waiting = keep_polling(source, stop)

    def retry(work: Callable[[], T]) -> T:
        return with_db_retry(work, max_backoff, stop, waiting)

    while not stop.is_set():
        records = collect(source, batch_size, batch_wait_ms)
        metrics.set_ready(True)  # polling; a database outage clears it until a write succeeds
        if records:
            try:
                retry(prepare(records, retry))
            finally:
                source.resume(*source.paused())
            metrics.set_ready(True)
            try:
                source.commit()
            except (CommitFailedError, KafkaTimeoutError) as exc:
                # The group moved the partitions on meanwhile, or the broker did not answer within
                # KAFKA_REQUEST_TIMEOUT_S: unless a later commit covers them, these records are read
                # again (by their new owner, or by this worker once restarted), and the unique keys
                # make that harmless.
                why = "partitions reassigned" if isinstance(exc, CommitFailedError) else "the broker did not answer"
                log.warning(f"offsets not committed: {why}", error=first_line(exc))
            metrics.BATCH_SIZE.observe(len(records))
            for record in records:
                metrics.MESSAGES_IN.labels(record.topic).inc()
