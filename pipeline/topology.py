"""The stream topology (faust): one hop from a raw post to its annotation request.

    tweets ──batches──▶ StreamWorker (PostgreSQL: posts, conversations) ──▶ annotation-requests
                                      └── bad input, expired orphans ──▶ tweets-dlq

No faust tables: PostgreSQL holds the state, so a restarted worker has nothing to restore.
Records are acked (and faust commits their offsets) only after the batch's transaction
committed and the broker acknowledged what it produced.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import faust
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from threadtag.core.broker import stream_topics
from threadtag.core.broker_watch import start_afresh
from threadtag.core.kafka_security import faust_credentials
from threadtag.core.metrics import MESSAGES_IN, set_ready
from threadtag.core.settings import Settings
from threadtag.pipeline.faust_transport import StreamApp
from threadtag.pipeline.normalize import RawMessage
from threadtag.pipeline.stream_worker import Prepared, StreamWorker

log = structlog.get_logger(__name__)


def build_app(settings: Settings, bootstrap: str, engine: AsyncEngine) -> faust.App:
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)  # faust makes only the last level
    batch = settings.kafka_producer_max_batch_bytes
    app = StreamApp(
        settings.stream_app_id,
        fetch_max_wait_ms=settings.stream_fetch_max_wait_ms,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        datadir=str(settings.stream_data_dir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        broker_max_poll_interval=settings.kafka_max_poll_interval_s,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        broker_credentials=faust_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        **({"producer_max_batch_size": batch} if batch else {}),
    )
    topics = {name: app.topic(name) for name in stream_topics(settings)}

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        return await topics[topic].send(key=key, value=value)

    worker = StreamWorker(engine, settings, send)

    @app.on_before_shutdown.connect
    async def _stop(app: faust.App, **kwargs: Any) -> None:
        worker.stop.set()
        worker.progress.stopped()
        await engine.dispose()  # on the loop its connections belong to; a transaction in flight keeps its own

    @app.agent(topics[settings.tweets_topic])
    async def process(stream: faust.StreamT) -> None:
        wait = settings.stream_batch_wait_ms / 1000
        # Batches are taken and normalized here while one task stores them, in order, and acks
        # each after its commit: the event loop has the next batches ready while PostgreSQL works.
        ready: asyncio.Queue[tuple[Prepared, list[Any]]] = asyncio.Queue(settings.stream_batches_ahead)

        async def store_in_order() -> None:
            while True:
                batch, events = await ready.get()
                try:
                    await worker.store(batch)
                except Exception:
                    if worker.stop.is_set():
                        return  # shutting down during a database outage: the batch stays unacked
                    # Input cannot get here (store dead-letters it): the database or the broker
                    # failed for good (a broker back empty refuses the first send). Start afresh
                    # unacked, or exit for the supervisor, rather than leave a live process whose
                    # agent stopped.
                    log.exception("stream worker failed; the batch is not committed")
                    if settings.broker_lost_action == "restart":
                        start_afresh("the stream worker failed")
                    os._exit(1)
                for event in events:
                    await stream.ack(event)

        storing = asyncio.create_task(store_in_order())
        try:
            async for events in stream.noack_take(settings.stream_batch_size, within=wait):
                messages = [
                    RawMessage(e.value, e.message.key, e.message.topic, e.message.partition, e.message.offset)
                    for e in events
                ]
                MESSAGES_IN.labels(settings.tweets_topic).inc(len(messages))
                await ready.put((await worker.prepare(messages), list(events)))
        finally:
            storing.cancel()  # what it had not acked is read again by whoever gets the partitions

    @app.timer(settings.stream_tick_seconds)
    async def tick() -> None:
        await worker.tick()
        set_ready(True)  # the timer runs once the worker started and reached the database

    return app
