"""The inference worker: annotation requests in, ranked hashtags into PostgreSQL.

Requests are batched dynamically (up to INFER_BATCH_SIZE, or what came within
INFER_BATCH_WAIT_MS of the first), run through batched beam search (the predictor sorts
them by length), written in one transaction, and only then are the offsets committed.
A database that refuses connections makes the worker wait and retry with backoff; nothing
is committed meanwhile, so nothing is lost, and the unique key means nothing is doubled.
"""

from __future__ import annotations

import threading
import time

import structlog
from kafka import KafkaConsumer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from models.corpus import post_lang, thread_example
from models.predictor import HashtagPredictor
from schemas.events import AnnotationRequest
from workers.annotation_sink import Annotation, AnnotationSink

log = structlog.get_logger(__name__)


def annotate(predictor: HashtagPredictor, requests: list[AnnotationRequest]) -> list[Annotation]:
    examples = [thread_example(r.post.text, [p.text for p in r.replies], post_lang(r.post)) for r in requests]
    ranked = predictor.predict_examples(examples)
    return [
        Annotation(r.post, r.seq, len(r.replies), [{"tag": h.tag, "score": round(h.score, 4)} for h in hashtags])
        for r, hashtags in zip(requests, ranked)
    ]


def collect(consumer: KafkaConsumer, max_records: int, wait_ms: int) -> list[bytes]:
    """Up to `max_records` values, waiting at most `wait_ms` after the first one arrived."""
    values: list[bytes] = []
    deadline: float | None = None
    while len(values) < max_records:
        timeout = 1000 if deadline is None else max(0, int(1000 * (deadline - time.monotonic())))
        polled = consumer.poll(timeout_ms=timeout, max_records=max_records - len(values))
        for records in polled.values():
            values.extend(r.value for r in records)
        if values and deadline is None:
            deadline = time.monotonic() + wait_ms / 1000
        if deadline is None or time.monotonic() >= deadline:
            break
    return values


def flush_with_retry(sink: AnnotationSink, max_backoff: float, stop: threading.Event) -> int:
    delay = 0.5
    while True:
        try:
            return sink.flush()
        except OperationalError as exc:
            log.warning("database unavailable, retrying", error=str(exc).splitlines()[0], retry_in=delay)
            if stop.wait(delay):
                raise
            delay = min(max_backoff, delay * 2)


def run(
    consumer: KafkaConsumer,
    topic: str,
    predictor: HashtagPredictor,
    sink: AnnotationSink,
    batch_size: int,
    batch_wait_ms: int,
    max_backoff: float,
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        values = collect(consumer, batch_size, batch_wait_ms)
        if not values:
            continue
        requests = []
        for value in values:
            try:
                requests.append(AnnotationRequest.model_validate_json(value))
            except ValidationError as exc:
                log.error("unreadable annotation request dead-lettered", error=str(exc).splitlines()[0])
                sink.add_dead_letter(topic, f"unreadable annotation request: {exc}", value)
        started = time.perf_counter()
        sink.add(annotate(predictor, requests))
        inference_s = time.perf_counter() - started
        written = flush_with_retry(sink, max_backoff, stop)
        consumer.commit()  # only after the rows are in PostgreSQL
        log.info("batch annotated", requests=len(requests), new_rows=written, inference_s=round(inference_s, 3))
