"""Posts and the conversation policy the stream-state tests store them under."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from threadtag.pipeline.conversations import ConversationPolicy
from threadtag.schemas.posts import Post

POLICY = ConversationPolicy(every_replies=3, quiet_seconds=0, close_seconds=10.0, orphan_ttl=60.0)
TOPIC = {"source": "tweets", "max_payload": 10_000}  # where dead letters of store_batch say they came from
T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def post(pid: int, parent: int | None = None, minute: int = 0, root: int | None = None, body: str = "words") -> Post:
    return Post(
        id=str(pid),
        parent_id=None if parent is None else str(parent),
        root_id=None if root is None else str(root),
        created_at=T0 + timedelta(minutes=minute),
        text=f"{body} {pid}",
        platform="twitter",
        raw={"id": pid},
    )
