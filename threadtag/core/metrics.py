"""Prometheus metrics of a worker process, served on METRICS_PORT (README lists them).

Every worker process serves its own; Prometheus' job/instance labels tell the workers
apart, so the metrics carry only what varies inside one process.
"""

from __future__ import annotations

import platform
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from socketserver import ThreadingMixIn
from typing import Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app

from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.settings import Settings

log = structlog.get_logger(__name__)


def _package_version() -> str:
    try:
        return version("threadtag")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


MESSAGES_IN = Counter("threadtag_messages_in", "Messages consumed, by topic.", ["topic"])
DEAD_LETTERS = Counter("threadtag_dead_letters", "Messages this worker set aside as dead letters.")
DUPLICATE_POSTS = Counter(
    "threadtag_duplicate_posts", "Copies of a stored post id (not stored again), by whether the text differs.", ["text"]
)
for _text in ("same", "different"):  # both series exist from the start (at 0), as Prometheus advises
    DUPLICATE_POSTS.labels(_text)
CONSUMER_LAG = Gauge(
    "threadtag_consumer_lag", "Messages not yet committed by this worker's group.", ["group", "topic", "partition"]
)
BATCH_SIZE = Histogram(
    "threadtag_batch_size", "Messages per processed batch.", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
)
INFERENCE_SECONDS = Histogram(
    "threadtag_inference_seconds",
    "Beam search time per batch.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
GENERATOR_INPUTS = Counter(
    "threadtag_generator_inputs",
    "Inputs the generator answered: decoded (beam search ran) or reused (an input it had answered before).",
    ["how"],
)
for _how in ("decoded", "reused"):
    GENERATOR_INPUTS.labels(_how)
ROWS_WRITTEN = Counter("threadtag_rows_written", "Rows written to PostgreSQL, by table.", ["table"])
FIELDS_DROPPED = Counter(
    "threadtag_fields_dropped", "Optional fields of posts stored empty because they do not fit, by field.", ["field"]
)
TIMER_FAILURES = Counter(
    "threadtag_stream_timer_failures",
    "Steps of the stream timer the database refused on their data (the others went on), by step.",
    ["step"],
)
FIELDS_DROPPED.labels("lang")  # every series exists from the start (at 0)
for _step in ("due", "stranded", "orphans", "unsent"):  # the stream timer's steps (pipeline/stream_worker.py)
    TIMER_FAILURES.labels(_step)
PARKED_POSTS = Gauge("threadtag_stream_parked_posts", "Stored replies still waiting for a parent (all workers).")
MODEL_VERSION = Gauge("threadtag_model_version_info", "1 for the model version this worker serves.", ["version"])
LIVE_F1 = Gauge(
    "threadtag_live_f1",
    "F1@K of this worker's annotations of labelled roots (their authors' hashtags, unseen by the annotation), "
    "over the last LIVE_QUALITY_WINDOW of them, for the model it serves.",
    ["k"],
)
_LIVE: deque[tuple[int, int, int]] = deque(maxlen=1000)  # (hits@1, hits@5, gold) of recent labelled roots
REQUESTS_PRODUCED = Counter(
    "threadtag_requests_produced",
    "Annotation requests the stream sent (acknowledged by the broker), by reason.",
    ["reason"],
)
for _reason in ("arrival", "growth", "final"):
    REQUESTS_PRODUCED.labels(_reason)
DB_RETRIES = Counter(
    "threadtag_db_retries",
    "Database operations tried again: the database was unavailable, or it rolled one back to break a deadlock.",
)
POST_TO_ANNOTATION = Histogram(
    "threadtag_post_to_annotation_seconds",
    "From the newest post an annotation read being stored to the annotation's row committed.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
BUILD_INFO = Gauge(
    "threadtag_build_info", "1, labelled with the threadtag version and Python of this worker.", ["version", "python"]
)
BUILD_INFO.labels(_package_version(), platform.python_version()).set(1)

# What only one kind of worker does: the other does not export it (MESSAGES_IN, DEAD_LETTERS,
# CONSUMER_LAG, ROWS_WRITTEN, DB_RETRIES and BUILD_INFO are both's).
_ONLY = {
    "stream": (PARKED_POSTS, DUPLICATE_POSTS, REQUESTS_PRODUCED, FIELDS_DROPPED, TIMER_FAILURES),
    "inference": (BATCH_SIZE, INFERENCE_SECONDS, GENERATOR_INPUTS, MODEL_VERSION, LIVE_F1, POST_TO_ANNOTATION),
}


def set_live_quality_window(size: int) -> None:
    global _LIVE
    _LIVE = deque(_LIVE, maxlen=size)


def observe_live_quality(hits_at_1: int, hits_at_5: int, gold: int) -> None:
    """Prequential quality: one more labelled root scored as it was annotated."""
    _LIVE.append((hits_at_1, hits_at_5, gold))
    posts, gold_total = len(_LIVE), sum(g for _, _, g in _LIVE)
    LIVE_F1.labels("1").set(2 * sum(h for h, _, _ in _LIVE) / (posts + gold_total))
    LIVE_F1.labels("5").set(2 * sum(h for _, h, _ in _LIVE) / (5 * posts + gold_total))


def reset_live_quality() -> None:
    """A new model serves: its quality is measured afresh."""
    _LIVE.clear()
    LIVE_F1.clear()


# Whether this worker is doing its work: set by the worker loop (False while the database is away).
_READY = threading.Event()


def set_ready(ready: bool) -> None:
    if ready:
        _READY.set()
    else:
        _READY.clear()


def _health_app(metrics_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """/healthz: the process answers; /ready: the worker is doing its work (503 while it
    starts or waits for the database); anything else: the Prometheus metrics."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/ready":
            ready = _READY.is_set()
            start_response("200 OK" if ready else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ready\n" if ready else b"not ready\n"]
        return metrics_app(environ, start_response)

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it so
        pass  # probes every few seconds would flood the log


def serve_health_and_metrics(host: str, port: int) -> int:
    """Serve /healthz, /ready and /metrics in a daemon thread; returns the bound port."""
    server = make_server(host, port, _health_app(make_wsgi_app()), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-http").start()
    return int(server.server_port)


def serve_model_version(version: str) -> None:
    MODEL_VERSION.clear()
    MODEL_VERSION.labels(version).set(1)
    reset_live_quality()


def _probe_lag(settings: Settings, group: str, topics: list[str]) -> None:
    """Every METRICS_LAG_INTERVAL_SECONDS, for the life of the process: end offset - committed
    offset, per partition."""
    consumer: KafkaConsumer | None = None
    while True:
        time.sleep(settings.metrics_lag_interval_seconds)
        try:
            if consumer is None:
                consumer = KafkaConsumer(
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    group_id=group,
                    enable_auto_commit=False,
                    request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
                    **kafka_python_options(settings),
                )
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
            ends = consumer.end_offsets(tps)
            for tp in tps:
                # Tansu can report an end offset short of the committed one: no lag, not a negative one.
                lag = max(0, ends[tp] - (consumer.committed(tp) or 0))
                CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(lag)
        except Exception as exc:  # noqa: BLE001 - a failed probe must not stop the worker
            log.warning("consumer lag probe failed", error=str(exc))


def start_metrics(settings: Settings, group: str, topics: list[str], role: Literal["stream", "inference"]) -> None:
    """Serve /metrics, /healthz and /ready on METRICS_PORT (0 = off) and probe the group's lag
    in a daemon thread; a `role` worker exports only its own metrics and the shared ones. A
    port that is taken is logged, not fatal."""
    for other, collectors in _ONLY.items():
        if other != role:
            for collector in collectors:
                REGISTRY.unregister(collector)
    if settings.metrics_port == 0:
        return
    try:
        serve_health_and_metrics(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        log.error("metrics endpoint not started", port=settings.metrics_port, error=str(exc))
        return
    base = f"http://{settings.metrics_host}:{settings.metrics_port}"
    log.info("metrics endpoint", metrics=f"{base}/metrics", health=f"{base}/healthz", ready=f"{base}/ready")
    threading.Thread(target=_probe_lag, args=(settings, group, topics), daemon=True, name="lag-probe").start()
