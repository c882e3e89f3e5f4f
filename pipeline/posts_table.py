"""The `posts` table: every post the stream kept, with its root (NULL while parked, waiting
for its parent) and its position in its conversation. Functions run inside the caller's
transaction and import no other table's module (pipeline/assembly.py combines them)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import psycopg
from sqlalchemy import Connection, Row, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from threadtag.pipeline.conversations import Member
from threadtag.schemas.posts import Post, needs_cleaning
from threadtag.schemas.tables import PostRow

# The table is the one source of its columns: what a batch writes is every column but the
# time the database stamps.
_TYPES = {
    c.name: c.type.compile(dialect=postgresql.dialect()) for c in PostRow.__table__.columns if c.name != "ingested_at"
}
_COLUMNS = ", ".join(_TYPES)
# The batch goes in by COPY into a staging table of the session, then one INSERT from there:
# against the whole batch sent as one JSON parameter (parsed twice by the server: the document,
# then each row's `raw`), 30 against 48 ms a thousand tweets, half the client's CPU.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming_posts ("
    + ", ".join(f"{name} {kind}" for name, kind in _TYPES.items())
    + ") ON COMMIT DELETE ROWS"
)
_COPY_POSTS = f"COPY incoming_posts ({_COLUMNS}) FROM STDIN"
_INSERT_POSTS = f"""
INSERT INTO posts ({_COLUMNS}, ingested_at) SELECT {_COLUMNS}, :now FROM incoming_posts
ON CONFLICT (id) DO NOTHING
RETURNING id
"""


def insert_posts(
    conn: Connection,
    posts: Sequence[Post],
    roots: Mapping[str, str | None],
    now: float,
    received: Mapping[str, str] | None = None,
    positions: Mapping[str, int] | None = None,
) -> set[str]:
    """Insert the posts that are not stored yet, each with its root (None: parked) and its
    position in the conversation (a root's is 0); returns the ids this call inserted.
    `received`: post id -> the JSON text it came as, stored as `raw` instead of serializing
    the parsed object again (a tenth of the worker's time)."""
    received = received or {}
    positions = positions or {}
    conn.execute(text(_STAGE))
    rows = []
    for p in posts:
        raw = received.get(p.id)
        if raw is None or needs_cleaning(raw):  # cleaned in the parsed post only
            raw = json.dumps(p.raw, ensure_ascii=False)
        values = {
            "id": p.id,
            "platform": p.platform,
            "author_id": p.author_id,
            "created_at": p.created_at,
            "text": p.text,
            "lang": p.lang,
            "parent_id": p.parent_id,
            "root_id": roots[p.id],
            "conv_pos": 0 if roots[p.id] == p.id else positions.get(p.id),
            "raw": raw,
        }
        rows.append(tuple(values[name] for name in _TYPES))
    _copy(conn, _COPY_POSTS, rows)
    params = {"now": datetime.fromtimestamp(now, tz=timezone.utc)}
    return set(conn.execute(text(_INSERT_POSTS), params).scalars())


def _copy(conn: Connection, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
    """COPY `rows` in through the connection's driver: blocking, or awaited on the event loop
    where the connection is an AsyncEngine's (run_sync's greenlet)."""
    driver = conn.connection.driver_connection
    try:
        if isinstance(driver, psycopg.AsyncConnection):
            await_only(_copy_async(driver, statement, rows))
        else:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
    except psycopg.Error as exc:  # as SQLAlchemy's own statements raise it: retries and dead letters judge it alike
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


async def _copy_async(driver: psycopg.AsyncConnection[Any], statement: str, rows: Sequence[tuple[object, ...]]) -> None:
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


def roots_of(conn: Connection, ids: Sequence[str]) -> dict[str, str | None]:
    """The stored posts among `ids`, each with its root (None: parked)."""
    found = conn.execute(text("SELECT id, root_id FROM posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": ids})
    return {row.id: row.root_id for row in found}


def texts_of(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(text("SELECT id, text FROM posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": list(ids)})
    return {row.id: row.text for row in rows}


def existing(conn: Connection, ids: Sequence[str]) -> set[str]:
    statement = text("SELECT id FROM posts WHERE id = ANY(CAST(:ids AS text[]))")
    return set(conn.execute(statement, {"ids": list(ids)}).scalars())


def set_positions(conn: Connection, positions: Mapping[str, int]) -> None:
    """Post id -> its position in its conversation."""
    if positions:
        conn.execute(
            text(
                "UPDATE posts SET conv_pos = v.pos FROM unnest(CAST(:ids AS text[]), CAST(:pos AS int[])) "
                "AS v(id, pos) WHERE posts.id = v.id"
            ),
            {"ids": list(positions), "pos": list(positions.values())},
        )


# Parked rows below the given posts, every level in one statement, then one UPDATE by id.
# Each step looks rows up by key: the LATERAL ... OFFSET 0 subqueries keep the planner from
# joining against every parked row, which it chose when its statistics said few were
# parked, and which read every dead version that a burst of resolved rows leaves in the
# partial indexes until VACUUM: up to 160 ms a batch.
_FIND_PARKED = """
WITH RECURSIVE found (id, root_id) AS (
    SELECT c.id, p.root_id FROM unnest(CAST(:parked AS text[])) AS k(id)
    CROSS JOIN LATERAL (SELECT id, parent_id FROM posts WHERE id = k.id AND root_id IS NULL OFFSET 0) c
    JOIN posts p ON p.id = c.parent_id WHERE p.root_id IS NOT NULL
  UNION
    SELECT c.id, p.root_id FROM unnest(CAST(:rooted AS text[])) AS k(id)
    CROSS JOIN LATERAL (SELECT id, parent_id FROM posts WHERE parent_id = k.id AND root_id IS NULL OFFSET 0) c
    JOIN posts p ON p.id = c.parent_id WHERE p.root_id IS NOT NULL
  UNION
    SELECT c.id, f.root_id FROM found f
    CROSS JOIN LATERAL (SELECT id FROM posts WHERE parent_id = f.id AND root_id IS NULL OFFSET 0) c
)
SELECT id, root_id FROM found
"""
# A row another transaction resolved meanwhile (to the same root: a reply's root is its
# parent's) is that transaction's to count. Said as `IS DISTINCT FROM`, not `IS NULL`,
# which would let the planner read every parked row again.
_ADOPT = """
UPDATE posts c SET root_id = v.root_id
FROM unnest(CAST(:ids AS text[]), CAST(:roots AS text[])) AS v(id, root_id)
WHERE c.id = v.id AND c.root_id IS DISTINCT FROM v.root_id
RETURNING c.id, c.root_id, CAST(EXTRACT(EPOCH FROM c.created_at) AS float8) AS created_epoch
"""


def resolve_parked(conn: Connection, rooted: Sequence[str], parked: Sequence[str]) -> dict[str, list[Member]]:
    """Parked rows (`parked`, and those below the posts `rooted`) whose parent has a root by
    now take it, and so do the parked rows below them; returns root id -> the replies that got it."""
    replies: dict[str, list[Member]] = defaultdict(list)
    if not rooted and not parked:
        return replies
    # Sorted: two workers resolving the same rows lock them in the same order.
    found = sorted(conn.execute(text(_FIND_PARKED), {"rooted": list(rooted), "parked": list(parked)}).tuples())
    if not found:
        return replies
    ids, roots = [post_id for post_id, _ in found], [root for _, root in found]
    for row in conn.execute(text(_ADOPT), {"ids": ids, "roots": roots}):
        replies[row.root_id].append((row.created_epoch, row.id))
    return replies


def stranded_parents(conn: Connection, limit: int) -> list[str]:
    """Rooted posts with a reply still parked below them: what the post-commit sweep of two
    workers racing can leave (seen in shuffled two-worker replays); the timer resolves them.
    Reads only the parked rows (a partial index) and their parents."""
    query = (
        "SELECT DISTINCT c.parent_id FROM posts c JOIN posts p ON p.id = c.parent_id "
        "WHERE c.root_id IS NULL AND p.root_id IS NOT NULL LIMIT :limit"
    )
    return list(conn.execute(text(query), {"limit": limit}).scalars())


def count_parked(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM posts WHERE root_id IS NULL")).scalar_one())


def delete_parked_below(conn: Connection, parent: str) -> list[Row[Any]]:
    """The parked replies of `parent` leave the table: (id, raw) of each, by id."""
    statement = text("DELETE FROM posts WHERE parent_id = :parent AND root_id IS NULL RETURNING id, raw")
    return sorted(conn.execute(statement, {"parent": parent}).all(), key=lambda r: r.id)


def delete_parked_before(conn: Connection, before: float, limit: int) -> list[Row[Any]]:
    """Up to `limit` parked rows stored before `before` leave the table, oldest first (rows
    another worker holds are skipped): (id, parent_id, raw) of each, by id."""
    statement = text(
        "DELETE FROM posts WHERE id IN (SELECT id FROM posts WHERE root_id IS NULL AND ingested_at < :before "
        "ORDER BY ingested_at LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING id, parent_id, raw"
    )
    params = {"before": datetime.fromtimestamp(before, tz=timezone.utc), "limit": limit}
    return sorted(conn.execute(statement, params).all(), key=lambda r: r.id)


def delete_conversations(conn: Connection, roots: Sequence[str]) -> list[Row[Any]]:
    """The posts of the conversations `roots` leave the table: (id, root_id, raw) of each, by id."""
    statement = text("DELETE FROM posts WHERE root_id = ANY(CAST(:roots AS text[])) RETURNING id, root_id, raw")
    return sorted(conn.execute(statement, {"roots": list(roots)}).all(), key=lambda r: r.id)
