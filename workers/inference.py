"""The inference worker: annotation requests in, ranked hashtags into PostgreSQL.

A request names a root and a cutoff; the worker reads the root post and its first `cutoff`
replies from PostgreSQL (one query per batch), so a redelivered request gets the same input.
Requests are batched dynamically (up to INFER_BATCH_SIZE, or what came within
INFER_BATCH_WAIT_MS of the first), run through batched beam search (the predictor sorts
them by length), written in one transaction, and only then are the offsets committed.
A database that refuses connections makes the worker wait and retry with backoff; nothing
is committed meanwhile, so nothing is lost, and the unique key means nothing is doubled.

Hot reload: before each batch the worker asks (at most every INFER_RELOAD_CHECK_SECONDS)
which model version is active and switches to it. The previous batch is written and its
offsets committed by then, so no request is dropped or annotated twice by one version;
each row names the version that made it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from threadtag.core import metrics
from threadtag.core.progress import ProgressLog
from threadtag.models.annotator import Annotator, HybridAnnotator
from threadtag.models.corpus import Example, lang_of, tag_text, thread_example
from threadtag.models.metrics import hits_at
from threadtag.models.predictor import HashtagPredictor
from threadtag.models.text import PLAIN_TEXT, TextPreparation
from threadtag.schemas.events import AnnotationRequest
from threadtag.workers.annotation_sink import Annotation, AnnotationSink
from threadtag.workers.batches import Retry, run_sink
from threadtag.workers.live_index import LiveIndex
from threadtag.workers.model_registry import active_model
from threadtag.workers.thread_reader import Thread, read_threads

log = structlog.get_logger(__name__)


def annotate(
    predictor: Annotator,
    requests: list[AnnotationRequest],
    threads: dict[tuple[str, int], Thread],
    texts: TextPreparation = PLAIN_TEXT,
) -> list[Annotation]:
    inputs = [threads[(r.root_id, r.cutoff)] for r in requests]
    examples = [thread_example(t.text, t.replies, lang_of(t.lang, t.text), texts) for t in inputs]
    if isinstance(predictor, HybridAnnotator):
        # Its own root never votes for it, nor anything stored after its input: a replay
        # scores as live, and as `evaluate` does.
        ranked = predictor.rank(examples, [r.root_id for r in requests], [t.stamp for t in inputs])
    else:
        ranked = predictor.predict_examples(examples)
    return [
        _scored(
            Annotation(
                r.root_id,
                r.seq,
                len(t.replies),
                [{"tag": h.tag, "score": round(h.score, 4)} for h in tags],
                final=r.reason == "final",
                stamp=t.stamp,
            ),
            ex,
        )
        for r, t, tags, ex in zip(requests, inputs, ranked, examples)
    ]


def _scored(annotation: Annotation, example: Example) -> Annotation:
    """A labelled root's annotation with its hits: scored before its own hashtags could reach
    the index (prequential), as `evaluate` scores."""
    if not example.tags:
        return annotation
    gold = [tag_text(t) for t in example.tags]
    ranked = [h["tag"] for h in annotation.hashtags]
    at_1, at_5 = hits_at(ranked, gold, 1, example.lang), hits_at(ranked, gold, 5, example.lang)
    metrics.observe_live_quality(at_1, at_5, len(gold))
    return replace(annotation, gold_tags=gold, hits_at_1=at_1, hits_at_5=at_5)


class ServedModel:
    """The model a worker serves; with `follow`, it becomes the active version whenever that changes."""

    def __init__(
        self,
        engine: Engine,
        predictor: Annotator,
        load: Callable[[Path], Annotator],
        check_every: float,
        follow: bool,
        index_every: float = 5.0,
        texts: TextPreparation = PLAIN_TEXT,
    ) -> None:
        self.engine = engine
        self.texts = texts  # what requests and the live index prepare their texts with
        self.predictor = predictor
        self.load = load
        self.check_every = check_every
        self.follow = follow
        self.next_check = 0.0
        self.unloadable: set[str] = set()  # versions whose file failed to load: not retried every check
        self.live_every = index_every
        self.live: LiveIndex | None = None
        self.live = self._live_for(predictor)

    @property
    def version(self) -> str:
        return self.predictor.checkpoint.version

    @property
    def generator(self) -> HashtagPredictor:
        return self.predictor.predictor if isinstance(self.predictor, HybridAnnotator) else self.predictor

    def refresh(self) -> bool:
        """Switch to the active version if it changed; True when it did. Never raises: a
        database or file problem keeps the current model serving."""
        now = time.monotonic()
        if not self.follow or now < self.next_check:
            return False
        self.next_check = now + self.check_every
        try:
            active = active_model(self.engine)
        except OperationalError as exc:
            log.warning("cannot read the active model version", error=str(exc).splitlines()[0])
            return False
        if active is None or active.version == self.version or active.version in self.unloadable:
            return False
        try:
            predictor = self.load(Path(active.path))
        except (OSError, ValueError) as exc:
            self.unloadable.add(active.version)
            log.error("cannot load the active model; serving the current one", version=active.version, error=str(exc))
            return False
        log.info("switched model", old=self.version, new=predictor.checkpoint.version, path=active.path)
        self.predictor = predictor
        self.live = self._live_for(predictor)
        metrics.serve_model_version(self.version)
        return True

    def _live_for(self, predictor: Annotator) -> LiveIndex | None:
        if not isinstance(predictor, HybridAnnotator) or self.live_every == 0:
            return None  # the generator alone, or INDEX_REFRESH_SECONDS=0: the training posts only
        if self.live is None:
            return LiveIndex(predictor, self.live_every, self.texts)
        self.live.reset(predictor)  # a new model's index starts from its own training posts
        return self.live

    def feed(self, conn: Connection) -> None:
        """Index the labelled posts stored since the last look (hybrid models only)."""
        if self.live is not None:
            self.live.refresh(conn)


def run(
    consumer: KafkaConsumer,
    topic: str,
    model: ServedModel,
    sink: AnnotationSink,
    batch_size: int,
    batch_wait_ms: int,
    max_backoff: float,
    stop: threading.Event,
    progress: ProgressLog,
) -> None:
    def _dead_letter(record: ConsumerRecord | None, reason: str, payload: bytes | None = None) -> None:
        log.error("annotation request dead-lettered", reason=reason.splitlines()[0])
        metrics.DEAD_LETTERS.inc()
        progress.add(dead_letters=1)
        source = f"{topic}/{record.partition}/{record.offset}" if record is not None else topic
        sink.add_dead_letter(source, reason, payload if payload is not None else (record.value or b""))

    def annotate_each_or_dead_letter(
        requests: list[AnnotationRequest], threads: dict[tuple[str, int], Thread]
    ) -> list[Annotation]:
        """The batch at once; if that fails, request by request, the failing ones dead-lettered."""
        try:
            return annotate(model.predictor, requests, threads, model.texts)
        except Exception:  # noqa: BLE001 - whatever one thread does to the model, the others are annotated
            done = []
            for request in requests:
                try:
                    done += annotate(model.predictor, [request], threads, model.texts)
                except Exception as exc:  # noqa: BLE001
                    _dead_letter(None, f"cannot be annotated: {type(exc).__name__}: {exc}", request.to_bytes())
            return done

    def prepare(records: list[ConsumerRecord], retry: Retry) -> Callable[[], int]:
        # Between batches: the sink holds nothing of the previous one any more.
        if model.refresh():
            sink.model_version = model.version
        requests = []
        for record in records:
            try:
                requests.append(AnnotationRequest.model_validate_json(record.value))
            except ValidationError as exc:  # a tombstone (no value) too
                _dead_letter(record, f"unreadable request: {exc}")

        def read() -> dict[tuple[str, int], Thread]:
            with model.engine.connect() as conn:
                model.feed(conn)
                return read_threads(conn, [(r.root_id, r.cutoff) for r in requests], model.predictor.conv_tokens_read)

        threads = retry(read)
        for request in [r for r in requests if not threads[(r.root_id, r.cutoff)].found]:
            # Only a database that lost rows (or a hand-made request) gets here.
            _dead_letter(None, f"root post {request.root_id} is not stored", request.to_bytes())
        requests = [r for r in requests if threads[(r.root_id, r.cutoff)].found]
        started = time.perf_counter()
        decoded, reused = model.generator.decoded, model.generator.reused
        sink.add(annotate_each_or_dead_letter(requests, threads))
        elapsed = time.perf_counter() - started
        decoded, reused = model.generator.decoded - decoded, model.generator.reused - reused
        metrics.INFERENCE_SECONDS.observe(elapsed)
        metrics.GENERATOR_INPUTS.labels("decoded").inc(decoded)
        metrics.GENERATOR_INPUTS.labels("reused").inc(reused)
        progress.add(requests=len(requests), decoded=decoded)
        log.info(
            "batch annotated",
            requests=len(requests),
            decoded=decoded,
            inference_s=round(elapsed, 3),
            model_version=model.version,
        )
        return flush

    def flush() -> int:
        rows = sink.flush()
        progress.add(rows=rows)
        return rows

    metrics.serve_model_version(model.version)
    run_sink(consumer, batch_size, batch_wait_ms, max_backoff, stop, prepare)
