"""Raw message bytes -> a post to keep, a post to drop, or a dead letter with the reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import structlog

from threadtag.core import metrics
from threadtag.models.corpus import assemble_threads
from threadtag.models.text import has_content
from threadtag.schemas.events import DeadLetter
from threadtag.schemas.posts import InvalidPost, Post, parse_post
from threadtag.schemas.tables import PostRow

log = structlog.get_logger(__name__)

LANG_MAX_CHARS = PostRow.__table__.c.lang.type.length


@dataclass(frozen=True)
class RawMessage:
    """A message of the raw posts topic with where it came from."""

    payload: bytes | None  # None: a tombstone
    key: bytes | None
    topic: str
    partition: int | None
    offset: int | None


@dataclass(frozen=True)
class Dropped:
    """A post that takes no part in conversations; replies are remembered by id so that
    their own replies' dead letters can name the reason."""

    post: Post
    reason: str


Outcome = Post | Dropped | DeadLetter


def normalize(message: RawMessage, now: float, max_bytes: int, max_payload: int, max_id_chars: int) -> Outcome:
    """Never raises: whatever the bytes do to the parser ends as a dead letter with the reason."""
    try:
        post = parse_post(message.payload, max_bytes, max_id_chars)
    except Exception as exc:  # noqa: BLE001 - any input the parser chokes on is a dead letter, not a crash
        reason = str(exc) if isinstance(exc, InvalidPost) else f"{type(exc).__name__}: {exc}"
        return dead_letter(message, reason, now, max_payload)
    post = fitted(post)
    reason = drop_reason(post)
    return post if reason is None else Dropped(post, reason)


def fitted(post: Post) -> Post:
    """The post with optional fields that its row cannot hold left empty, counted: a bad
    `lang` must not cost a root (and so its whole thread) a dead letter."""
    if post.lang is None or len(post.lang) <= LANG_MAX_CHARS:
        return post
    metrics.FIELDS_DROPPED.labels("lang").inc()
    log.warning("lang too long for its column: stored without it", post_id=post.id, chars=len(post.lang))
    return post.model_copy(update={"lang": None})


def dead_letter(message: RawMessage, reason: str, now: float, max_payload: int) -> DeadLetter:
    received = datetime.fromtimestamp(now, tz=timezone.utc)
    return DeadLetter.of(
        reason,
        message.payload or b"",
        message.topic,
        received,
        max_payload,
        message.partition,
        message.offset,
        message.key,
    )


def drop_reason(post: Post) -> str | None:
    """Retweets and replies with no content take no part in conversations."""
    if post.is_retweet:
        return "retweet"
    if post.parent_id is not None and not has_content(post.text):
        return "reply without content (only mentions, links or emoji)"
    return None


def is_kept(post: Post) -> bool:
    return drop_reason(post) is None


def replies_per_root(posts: Iterable[Post]) -> dict[str, int]:
    """Root id -> replies the stream will assemble for it (what a complete run must show)."""
    return {root.id: len(replies) for root, replies in assemble_threads(p for p in posts if is_kept(p))}
