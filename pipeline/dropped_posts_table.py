"""The `dropped_posts` table: ids of posts that take no part in conversations (retweets,
dead letters) and why, so that the dead letter of a reply orphaned below one says what
became of its parent. Runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, text


def remember_dropped(conn: Connection, reasons: Mapping[str, str]) -> None:
    """Keep post id -> why it was dropped."""
    if reasons:  # one statement: as many rows one by one were a tenth of the database thread (py-spy)
        ordered = dict(sorted(reasons.items()))
        conn.execute(
            text(
                "INSERT INTO dropped_posts (id, reason) SELECT * FROM unnest(CAST(:ids AS text[]), "
                "CAST(:reasons AS text[])) ON CONFLICT (id) DO NOTHING"
            ),
            {"ids": list(ordered), "reasons": list(ordered.values())},
        )


def reasons_for(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """Why each of `ids` that was dropped was dropped."""
    statement = text("SELECT id, reason FROM dropped_posts WHERE id = ANY(CAST(:ids AS text[]))")
    return dict(conn.execute(statement, {"ids": list(ids)}).tuples().all())


def forget_dropped(conn: Connection, now: float, keep_seconds: float, limit: int) -> int:
    """Ids of dropped posts older than `keep_seconds` are forgotten, `limit` at a time."""
    before = datetime.fromtimestamp(now - keep_seconds, tz=timezone.utc)
    statement = (
        "DELETE FROM dropped_posts WHERE id IN (SELECT id FROM dropped_posts WHERE dropped_at < :before "
        "ORDER BY dropped_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    )
    return conn.execute(text(statement), {"before": before, "limit": limit}).rowcount
