"""Messages between the stream stages, as JSON. Every stage and tool reads these shapes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from threadtag.schemas.posts import Post


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class LinkEvent(_Message):
    """On the links topic, keyed by `node`.

    child:    `post` replies to `node`;  resolved: `node` belongs to conversation `root`;
    expire:   children still parked under `node` have waited too long (sent by the timer);
    forget:   `node`'s conversation ended: drop its link (sent when the conversation state goes).
    """

    kind: Literal["child", "resolved", "expire", "forget"]
    node: str
    post: Post | None = None
    root: str | None = None


class ConversationEvent(_Message):
    """On the replies-by-root topic, keyed by `root`: a post of the conversation, or a timer tick."""

    kind: Literal["post", "tick"]
    root: str
    post: Post | None = None


class AnnotationRequest(_Message):
    """On the annotation-requests topic, keyed by `root_id`: annotate `post` given `replies`."""

    root_id: str
    seq: int  # 1, 2, ... per root; (root_id, seq) names a request
    reason: Literal["arrival", "growth", "final"]
    post: Post
    replies: list[Post]  # chronological, ties by id; posts here carry no `raw` (see assembly)
    created_at: datetime


class DeadLetter(_Message):
    """A message the pipeline could not use, with the reason and the original bytes."""

    reason: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key_b64: str | None = None
    payload_b64: str
    payload_bytes: int
    truncated: bool = False
    received_at: datetime

    @classmethod
    def of(
        cls,
        reason: str,
        payload: bytes,
        source_topic: str,
        received_at: datetime,
        max_payload: int,
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | None = None,
    ) -> DeadLetter:
        # The source topic keeps the full message; partition/offset point to it.
        return cls(
            reason=reason,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key_b64=base64.b64encode(key).decode() if key is not None else None,
            payload_b64=base64.b64encode(payload[:max_payload]).decode(),
            payload_bytes=len(payload),
            truncated=len(payload) > max_payload,
            received_at=received_at,
        )

    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)
