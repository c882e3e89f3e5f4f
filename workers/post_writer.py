"""The DB writer: posts and replies as the stream assembles them, and dead letters, into
PostgreSQL in batches with upserts. Offsets are committed only after a batch is stored; a
database outage makes it wait and retry, and upserts make a redelivered batch harmless."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import structlog
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from threadtag.schemas.events import ConversationEvent, DeadLetter
from threadtag.schemas.tables import DeadLetterRow, PostRow
from threadtag.workers.annotation_sink import post_values
from threadtag.workers.batches import run_sink

from threadtag import metrics

log = structlog.get_logger(__name__)


def rows_of(records: list[ConversationEvent | DeadLetter]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(post rows deduplicated by id, dead-letter rows)."""
    posts: dict[str, dict[str, Any]] = {}
    dead = []
    for item in records:
        if isinstance(item, DeadLetter):
            where = (
                f"{item.source_topic}/{item.partition}/{item.offset}" if item.offset is not None else item.source_topic
            )
            dead.append({"source": where, "reason": item.reason, "payload": item.payload()})
        elif item.post is not None:
            posts[item.post.id] = post_values(item.post, item.root)
    return list(posts.values()), dead


def store(engine: Engine, posts: list[dict[str, Any]], dead: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        if posts:
            statement = insert(PostRow).values(posts)
            # A bare row written by the inference worker gets the full post here.
            updates = {c: statement.excluded[c] for c in ("raw", "root_id", "parent_id", "author_id", "lang", "text")}
            conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))
        if dead:
            conn.execute(insert(DeadLetterRow).values(dead))
    metrics.ROWS_WRITTEN.labels("posts").inc(len(posts))
    metrics.ROWS_WRITTEN.labels("dead_letters").inc(len(dead))


def parse(record: ConsumerRecord, dead_letter_topic: str) -> ConversationEvent | DeadLetter:
    """A stream message; one that cannot be read becomes a dead letter itself."""
    try:
        if record.topic == dead_letter_topic:
            return DeadLetter.model_validate_json(record.value)
        return ConversationEvent.model_validate_json(record.value)
    except ValidationError as exc:
        log.error("unreadable stream message dead-lettered", topic=record.topic, offset=record.offset)
        metrics.DEAD_LETTERS.inc()
        return DeadLetter.of(
            f"unreadable {record.topic} message: {exc}",
            record.value,
            record.topic,
            datetime.now(timezone.utc),
            len(record.value),
            record.partition,
            record.offset,
        )


def run(
    source: KafkaConsumer,
    engine: Engine,
    dead_letter_topic: str,
    batch_size: int,
    batch_wait_ms: int,
    max_backoff: float,
    stop: threading.Event,
) -> None:
    def prepare(records: list[ConsumerRecord]) -> Callable[[], None]:
        posts, dead = rows_of([parse(r, dead_letter_topic) for r in records])
        if posts or dead:  # an idle writer polls every second: nothing to say then
            log.info("storing", posts=len(posts), dead_letters=len(dead))
        return lambda: store(engine, posts, dead)

    run_sink(source, batch_size, batch_wait_ms, max_backoff, stop, prepare)
