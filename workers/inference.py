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

from models.corpus import post_lang, thread_example
from models.predictor import HashtagPredictor
from schemas.events import AnnotationRequest
from workers.annotation_sink import Annotation, AnnotationSink
from workers.batches import collect, with_db_retry

log = structlog.get_logger(__name__)


def annotate(predictor: HashtagPredictor, requests: list[AnnotationRequest]) -> list[Annotation]:
    examples = [thread_example(r.post.text, [p.text for p in r.replies], post_lang(r.post)) for r in requests]
    ranked = predictor.predict_examples(examples)
    return [
        Annotation(r.post, r.seq, len(r.replies), [{"tag": h.tag, "score": round(h.score, 4)} for h in hashtags])
        for r, hashtags in zip(requests, ranked)
    ]


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
        records = collect(consumer, batch_size, batch_wait_ms)
        if not records:
            continue
        requests = []
        for value in (r.value for r in records):
            try:
                requests.append(AnnotationRequest.model_validate_json(value))
            except ValidationError as exc:
                log.error("unreadable annotation request dead-lettered", error=str(exc).splitlines()[0])
                sink.add_dead_letter(topic, f"unreadable annotation request: {exc}", value)
        started = time.perf_counter()
        sink.add(annotate(predictor, requests))
        inference_s = time.perf_counter() - started
        written = with_db_retry(sink.flush, max_backoff, stop)
        consumer.commit()  # only after the rows are in PostgreSQL
        log.info("batch annotated", requests=len(requests), new_rows=written, inference_s=round(inference_s, 3))
