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
from collections.abc import Callable

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError

from models.corpus import post_lang, thread_example
from models.predictor import HashtagPredictor
from schemas.events import AnnotationRequest
from workers.annotation_sink import Annotation, AnnotationSink
from workers.batches import run_sink

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
    def prepare(records: list[ConsumerRecord]) -> Callable[[], int]:
        requests = []
        for record in records:
            try:
                requests.append(AnnotationRequest.model_validate_json(record.value))
            except ValidationError as exc:
                log.error("unreadable annotation request dead-lettered", offset=record.offset)
                sink.add_dead_letter(
                    f"{topic}/{record.partition}/{record.offset}", f"unreadable request: {exc}", record.value
                )
        started = time.perf_counter()
        sink.add(annotate(predictor, requests))
        log.info("batch annotated", requests=len(requests), inference_s=round(time.perf_counter() - started, 3))
        return sink.flush

    run_sink(consumer, batch_size, batch_wait_ms, max_backoff, stop, prepare)
