"""Messages between the stream stages, as JSON. Every stage and tool reads these shapes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


RequestReason = Literal["arrival", "growth", "final"]


class AnnotationRequest(_Message):
    """On the annotation-requests topic, keyed by `root_id`: annotate the root post with the
    first `cutoff` replies that joined its conversation (posts.conv_pos 1..cutoff).

    It carries no text: the worker reads the posts from PostgreSQL, so a redelivered request
    gives the same input and a request's size does not grow with its thread."""

    root_id: str
    seq: int  # 1, 2, ... per root; (root_id, seq) names a request
    reason: RequestReason
    cutoff: int


_MAX_REASON = 2000  # an exception's message can quote the whole input


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
            reason=reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + " ...",
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
