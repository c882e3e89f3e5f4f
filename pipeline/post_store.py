"""The `posts` table as the stream's memory: a batch's posts are stored once, resolved to
their roots (parked while a parent is missing), and parked rows that wait too long become
dead letters. Functions run inside the caller's transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from threadtag.core import metrics
from threadtag.pipeline import bookkeeping
from threadtag.pipeline.conversations import ConversationPolicy
from threadtag.pipeline.normalize import Dropped
from threadtag.schemas.events import AnnotationRequest, DeadLetter
from threadtag.schemas.posts import Post, needs_cleaning
from threadtag.schemas.reply_chains import resolve_roots
from threadtag.schemas.tables import DeadLetterRow


@dataclass(frozen=True)
class Stored:
    requests: list[AnnotationRequest]
    rooted: list[str]  # new posts that know their root: parked replies below them may follow
    parked: list[str]  # new posts still waiting for a parent
    resolved: list[str] = field(default_factory=list)  # parked by earlier batches, given their root here
    letters: list[DeadLetter] = field(default_factory=list)  # copies of an id with another text


# The batch goes in by COPY into a staging table of the session, then one INSERT from there:
# against the whole batch sent as one JSON parameter (parsed twice by the server: the document,
# then each row's `raw`), 30 against 48 ms a thousand tweets, half the client's CPU.
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS incoming_posts (
    id text, platform text, author_id text, created_at timestamptz, text text, lang text,
    parent_id text, root_id text, conv_pos int, raw jsonb
) ON COMMIT DELETE ROWS
"""
_COPY_POSTS = """
COPY incoming_posts (id, platform, author_id, created_at, text, lang, parent_id, root_id, conv_pos, raw) FROM STDIN
"""
_INSERT_POSTS = """
INSERT INTO posts (id, platform, author_id, created_at, text, lang, parent_id, root_id, conv_pos, raw, ingested_at)
SELECT id, platform, author_id, created_at, text, lang, parent_id, root_id, conv_pos, raw, :now FROM incoming_posts
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
        position = 0 if roots[p.id] == p.id else positions.get(p.id)
        rows.append(
            (p.id, p.platform, p.author_id, p.created_at, p.text, p.lang, p.parent_id, roots[p.id], position, raw)
        )
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


def insert_dead_letters(conn: Connection, letters: Sequence[DeadLetter]) -> None:
    if not letters:
        return
    rows = [
        {
            "source": f"{d.source_topic}/{d.partition}/{d.offset}" if d.offset is not None else d.source_topic,
            "reason": d.reason,
            "payload": d.payload(),
        }
        for d in letters
    ]
    conn.execute(insert(DeadLetterRow), rows)


def store_batch(
    conn: Connection,
    posts: Sequence[Post],
    dropped: Sequence[Dropped],
    letters: Sequence[DeadLetter],
    now: float,
    policy: ConversationPolicy,
    received: Mapping[str, str] | None = None,
    *,
    source: str,
    max_payload: int,
) -> Stored:
    """Store a batch: dead letters, the ids of dropped posts, posts new to the database with
    their roots where known, and the conversations they join. `received`: see insert_posts;
    `source` and `max_payload`: where the dead letters of changed copies say they came from,
    and how much of each they keep."""
    insert_dead_letters(conn, letters)
    remember_dropped(conn, {d.post.id: d.reason for d in dropped})
    unique = list({post.id: post for post in reversed(posts)}.values())  # the first copy of each id wins
    wanted = sorted({p.id for p in unique} | {p.parent_id for p in unique if p.parent_id})
    found = conn.execute(text("SELECT id, root_id FROM posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": wanted})
    stored: dict[str, str | None] = {row.id: row.root_id for row in found}
    changed = _changed_copies(conn, posts, unique, stored, now, source, max_payload)
    insert_dead_letters(conn, changed)
    new = sorted((p for p in unique if p.id not in stored), key=lambda p: p.id)
    if not new:
        return Stored([], [], [], [], changed)
    roots = resolve_roots(new, stored)
    replies: dict[str, list[bookkeeping.Member]] = defaultdict(list)
    for post in new:
        root = roots[post.id]
        if root is not None and root != post.id:
            replies[root].append((post.created_at.timestamp(), post.id))
    arrived = {p.id for p in new if roots[p.id] == p.id}
    # Positions are taken (the conversation rows locked) before the insert, so the rows go in
    # complete: setting them on every reply afterwards doubled what PostgreSQL wrote.
    joined = bookkeeping.Joined()
    positions = bookkeeping.reserve(conn, joined, replies, arrived, now)
    inserted = insert_posts(conn, new, roots, now, received, positions)
    mine = [p for p in new if p.id in inserted]
    if len(mine) < len(new):  # another worker stored a copy meanwhile: it joined the conversation there
        _close_gaps(conn, joined, replies, {p.id for p in new} - inserted, positions)
    rooted = [p.id for p in mine if roots[p.id] is not None]
    parked = [p.id for p in mine if roots[p.id] is None]
    # Replies parked by earlier batches join now too, so a root's first request carries them.
    swept = _resolve_parked(conn, rooted, [])
    bookkeeping.set_positions(conn, bookkeeping.reserve(conn, joined, swept, set(), now))
    resolved = [post_id for members in swept.values() for _, post_id in members]
    return Stored(joined.settle(conn, now, policy), rooted, parked, resolved, changed)


def remember_dropped(conn: Connection, reasons: Mapping[str, str]) -> None:
    """Keep the ids of posts that take no part in conversations (post id -> why), so that
    the dead letter of a reply orphaned below one says what became of its parent."""
    if reasons:  # one statement: as many rows one by one were a tenth of the database thread (py-spy)
        ordered = dict(sorted(reasons.items()))
        conn.execute(
            text(
                "INSERT INTO dropped_posts (id, reason) SELECT * FROM unnest(CAST(:ids AS text[]), "
                "CAST(:reasons AS text[])) ON CONFLICT (id) DO NOTHING"
            ),
            {"ids": list(ordered), "reasons": list(ordered.values())},
        )


def forget_dropped(conn: Connection, now: float, keep_seconds: float, limit: int) -> int:
    """Ids of dropped posts older than `keep_seconds` are forgotten, `limit` at a time."""
    before = datetime.fromtimestamp(now - keep_seconds, tz=timezone.utc)
    statement = (
        "DELETE FROM dropped_posts WHERE id IN (SELECT id FROM dropped_posts WHERE dropped_at < :before "
        "ORDER BY dropped_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    )
    return conn.execute(text(statement), {"before": before, "limit": limit}).rowcount


def _changed_copies(
    conn: Connection,
    posts: Sequence[Post],
    unique: Sequence[Post],
    stored: Mapping[str, str | None],
    now: float,
    source: str,
    max_payload: int,
) -> list[DeadLetter]:
    """A second copy of an id is not stored (the first wins), but one with another text is
    recorded as a dead letter naming the text kept; every copy is counted."""
    kept = {p.id: p for p in unique}
    copies = [p for p in posts if p is not kept[p.id] or p.id in stored]
    if not copies:
        return []
    first = {p.id: p.text for p in unique if p.id not in stored}
    again = sorted({p.id for p in copies if p.id in stored})
    if again:
        rows = conn.execute(text("SELECT id, text FROM posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": again})
        first.update((row.id, row.text) for row in rows)
    letters = []
    for copy in copies:
        different = copy.text != first[copy.id]
        metrics.DUPLICATE_POSTS.labels("different" if different else "same").inc()
        if different:
            reason = (
                f"another copy of post {copy.id} with a different text; the first is kept: {first[copy.id][:300]!r}"
            )
            letters.append(_letter(copy.raw, reason, source, now, max_payload))
    return letters


def _close_gaps(
    conn: Connection,
    joined: bookkeeping.Joined,
    replies: Mapping[str, Sequence[bookkeeping.Member]],
    lost: set[str],
    positions: Mapping[str, int],
) -> None:
    """Replies reserved but not inserted leave their positions: the others of their
    conversation move down, so positions stay 1..n without gaps."""
    moved: dict[str, int] = {}
    given_back: dict[str, int] = {}
    for root, members in replies.items():
        gone = [post_id for _, post_id in members if post_id in lost]
        if not gone:
            continue
        kept = sorted((positions[post_id], post_id) for _, post_id in members if post_id not in lost)
        first = min(positions[post_id] for _, post_id in members)
        moved.update({post_id: first + i for i, (_, post_id) in enumerate(kept)})
        given_back[root] = len(gone)
    bookkeeping.release(conn, joined, given_back)
    bookkeeping.set_positions(conn, moved)


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


def _resolve_parked(
    conn: Connection, rooted: Sequence[str], parked: Sequence[str]
) -> dict[str, list[bookkeeping.Member]]:
    """Parked rows (`parked`, and those below the posts `rooted`) whose parent has a root by
    now take it, and so do the parked rows below them; returns root id -> the replies that got it."""
    replies: dict[str, list[bookkeeping.Member]] = defaultdict(list)
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


def sweep(
    conn: Connection, rooted: Sequence[str], parked: Sequence[str], now: float, policy: ConversationPolicy
) -> list[AnnotationRequest]:
    """After a batch committed, resolve parked rows again around its posts (`rooted`: every
    post the batch gave a root, the parked ones it resolved too): this closes the race of a
    parent and its child stored by two workers at once (each transaction missed the other's
    row); whichever commits last sees both. A parked parent resolved inside the batch
    counts: a child another worker parked below it meanwhile is reached only from it."""
    return bookkeeping.join(conn, _resolve_parked(conn, rooted, parked), set(), now, policy)


def stranded_parents(conn: Connection, limit: int) -> list[str]:
    """Rooted posts with a reply still parked below them: what the post-commit sweep of two
    workers racing can leave (seen in shuffled two-worker replays); the timer resolves them.
    Reads only the parked rows (a partial index) and their parents."""
    query = (
        "SELECT DISTINCT c.parent_id FROM posts c JOIN posts p ON p.id = c.parent_id "
        "WHERE c.root_id IS NULL AND p.root_id IS NOT NULL LIMIT :limit"
    )
    return list(conn.execute(text(query), {"limit": limit}).scalars())


def dead_letter_parked_below(
    conn: Connection, parent: str, why: str, now: float, source: str, max_payload: int
) -> list[DeadLetter]:
    """The parked replies of `parent` leave `posts` as dead letters saying `why` (the database
    refused to join them to their conversation); their own replies' dead letters will name it."""
    gone = conn.execute(
        text("DELETE FROM posts WHERE parent_id = :parent AND root_id IS NULL RETURNING id, raw"), {"parent": parent}
    ).all()
    reason = f"reply below {parent} cannot join its conversation: {why}"
    remember_dropped(conn, {row.id: f"dead-lettered: {reason}" for row in gone})
    letters = [_letter(row.raw, reason, source, now, max_payload) for row in sorted(gone, key=lambda r: r.id)]
    insert_dead_letters(conn, letters)
    return letters


def count_parked(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM posts WHERE root_id IS NULL")).scalar_one())


def _letter(raw: dict[str, Any], reason: str, source: str, now: float, max_payload: int) -> DeadLetter:
    payload = json.dumps(raw, ensure_ascii=False).encode()
    return DeadLetter.of(reason, payload, source, datetime.fromtimestamp(now, tz=timezone.utc), max_payload)


def expire_parked(
    conn: Connection, now: float, policy: ConversationPolicy, limit: int, source: str, max_payload: int
) -> list[DeadLetter]:
    """Parked replies older than the orphan TTL leave `posts` as dead letters saying why."""
    before = datetime.fromtimestamp(now - policy.orphan_ttl, tz=timezone.utc)
    gone = conn.execute(
        text(
            "DELETE FROM posts WHERE id IN (SELECT id FROM posts WHERE root_id IS NULL AND ingested_at < :before "
            "ORDER BY ingested_at LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING id, parent_id, raw"
        ),
        {"before": before, "limit": limit},
    ).all()
    if not gone:
        return []
    parents = sorted({row.parent_id for row in gone})
    dropped = dict(
        conn.execute(
            text("SELECT id, reason FROM dropped_posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": parents}
        ).all()
    )
    there = {row.id for row in gone} | set(
        conn.execute(text("SELECT id FROM posts WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": parents}).scalars()
    )
    letters = []
    for row in sorted(gone, key=lambda r: r.id):
        if row.parent_id in dropped:
            reason = f"orphan reply: its parent {row.parent_id} was dropped ({dropped[row.parent_id]})"
        elif row.parent_id in there:
            reason = f"orphan reply: its parent {row.parent_id} arrived, but not the thread's root post within {policy.orphan_ttl:g} s"  # noqa: E501
        else:
            reason = f"orphan reply: its parent {row.parent_id} did not arrive within {policy.orphan_ttl:g} s"
        letters.append(_letter(row.raw, reason, source, now, max_payload))
    insert_dead_letters(conn, letters)
    return letters


def expire_rootless(
    conn: Connection, roots: Sequence[str], now: float, policy: ConversationPolicy, source: str, max_payload: int
) -> list[DeadLetter]:
    """Conversations that replies named (Twitter v2) but whose root never came (`orphaned`):
    their replies leave `posts` as dead letters and the conversation is forgotten."""
    if not roots:
        return []
    gone = conn.execute(
        text("DELETE FROM posts WHERE root_id = ANY(CAST(:roots AS text[])) RETURNING id, root_id, raw"),
        {"roots": list(roots)},
    ).all()
    bookkeeping.forget(conn, roots)
    letters = [
        _letter(
            row.raw,
            f"orphan reply: root {row.root_id} did not arrive within {policy.orphan_ttl:g} s",
            source,
            now,
            max_payload,
        )
        for row in sorted(gone, key=lambda r: r.id)
    ]
    insert_dead_letters(conn, letters)
    return letters
