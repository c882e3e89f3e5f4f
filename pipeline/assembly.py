"""The stream's transactions, the one place that combines the tables: a batch's posts stored,
resolved to their roots, booked into their conversations and the requests decided
(`store_batch`); the sweep after its commit; the timer's steps. Each function runs inside
the caller's transaction and calls the table modules (`posts_table`, `conversations_table`,
`dead_letters_table`, `dropped_posts_table`), which never call each other.

A batch, in order: its dead letters and the ids of the posts it dropped are kept; the posts
the database has among the batch's ids and parents are read; copies of stored ids are
counted (one with another text is a dead letter); the new posts get their roots (or park);
their conversations' rows are locked in root order and the replies given positions; the
posts go in; replies parked by earlier batches below them take their roots and positions;
the policy runs once per conversation, deciding the requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection

from threadtag.core import metrics
from threadtag.pipeline import conversations_table, dead_letters_table, dropped_posts_table, posts_table
from threadtag.pipeline.conversations import ConversationPolicy, Member, orphaned
from threadtag.pipeline.normalize import Dropped
from threadtag.schemas.events import AnnotationRequest, DeadLetter
from threadtag.schemas.posts import Post
from threadtag.schemas.reply_chains import resolve_roots

log = structlog.get_logger(__name__)

# What a timer step made: requests to send and dead letters.
Timed = tuple[list[AnnotationRequest], list[DeadLetter]]
TimerStep = Callable[[Connection], Timed]


@dataclass(frozen=True)
class Stored:
    requests: list[AnnotationRequest]
    rooted: list[str]  # new posts that know their root: parked replies below them may follow
    parked: list[str]  # new posts still waiting for a parent
    resolved: list[str] = field(default_factory=list)  # parked by earlier batches, given their root here
    letters: list[DeadLetter] = field(default_factory=list)  # copies of an id with another text


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
    their roots where known, and the conversations they join. `received`: see
    posts_table.insert_posts; `source` and `max_payload`: where the dead letters of changed
    copies say they came from, and how much of each they keep."""
    dead_letters_table.insert_dead_letters(conn, letters)
    dropped_posts_table.remember_dropped(conn, {d.post.id: d.reason for d in dropped})
    unique = list({post.id: post for post in reversed(posts)}.values())  # the first copy of each id wins
    wanted = sorted({p.id for p in unique} | {p.parent_id for p in unique if p.parent_id})
    stored = posts_table.roots_of(conn, wanted)
    changed = _changed_copies(conn, posts, unique, stored, now, source, max_payload)
    dead_letters_table.insert_dead_letters(conn, changed)
    new = sorted((p for p in unique if p.id not in stored), key=lambda p: p.id)
    if not new:
        return Stored([], [], [], [], changed)
    roots = resolve_roots(new, stored)
    replies: dict[str, list[Member]] = defaultdict(list)
    for post in new:
        root = roots[post.id]
        if root is not None and root != post.id:
            replies[root].append((post.created_at.timestamp(), post.id))
    arrived = {p.id for p in new if roots[p.id] == p.id}
    # Positions are taken (the conversation rows locked) before the insert, so the rows go in
    # complete: setting them on every reply afterwards doubled what PostgreSQL wrote.
    joined = conversations_table.Joined()
    positions = conversations_table.reserve(conn, joined, replies, arrived, now)
    inserted = posts_table.insert_posts(conn, new, roots, now, received, positions)
    mine = [p for p in new if p.id in inserted]
    if len(mine) < len(new):  # another worker stored a copy meanwhile: it joined the conversation there
        _close_gaps(conn, joined, replies, {p.id for p in new} - inserted, positions)
    rooted = [p.id for p in mine if roots[p.id] is not None]
    parked = [p.id for p in mine if roots[p.id] is None]
    # Replies parked by earlier batches join now too, so a root's first request carries them.
    swept = posts_table.resolve_parked(conn, rooted, [])
    posts_table.set_positions(conn, conversations_table.reserve(conn, joined, swept, set(), now))
    resolved = [post_id for members in swept.values() for _, post_id in members]
    return Stored(joined.settle(conn, now, policy), rooted, parked, resolved, changed)


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
    if again := sorted({p.id for p in copies if p.id in stored}):
        first.update(posts_table.texts_of(conn, again))
    letters = []
    for copy in copies:
        different = copy.text != first[copy.id]
        metrics.DUPLICATE_POSTS.labels("different" if different else "same").inc()
        if different:
            reason = (
                f"another copy of post {copy.id} with a different text; the first is kept: {first[copy.id][:300]!r}"
            )
            letters.append(dead_letters_table.letter(copy.raw, reason, source, now, max_payload))
    return letters


def _close_gaps(
    conn: Connection,
    joined: conversations_table.Joined,
    replies: Mapping[str, Sequence[Member]],
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
    conversations_table.release(conn, joined, given_back)
    posts_table.set_positions(conn, moved)


def sweep(
    conn: Connection, rooted: Sequence[str], parked: Sequence[str], now: float, policy: ConversationPolicy
) -> list[AnnotationRequest]:
    """After a batch committed, resolve parked rows again around its posts (`rooted`: every
    post the batch gave a root, the parked ones it resolved too): this closes the race of a
    parent and its child stored by two workers at once (each transaction missed the other's
    row); whichever commits last sees both. A parked parent resolved inside the batch
    counts: a child another worker parked below it meanwhile is reached only from it.
    Returns the requests of the conversations they joined."""
    joined = conversations_table.Joined()
    replies = posts_table.resolve_parked(conn, rooted, parked)
    posts_table.set_positions(conn, conversations_table.reserve(conn, joined, replies, set(), now))
    return joined.settle(conn, now, policy)


def dead_letter_parked_below(
    conn: Connection, parent: str, why: str, now: float, source: str, max_payload: int
) -> list[DeadLetter]:
    """The parked replies of `parent` leave `posts` as dead letters saying `why` (the database
    refused to join them to their conversation); their own replies' dead letters will name it."""
    gone = posts_table.delete_parked_below(conn, parent)
    reason = f"reply below {parent} cannot join its conversation: {why}"
    dropped_posts_table.remember_dropped(conn, {row.id: f"dead-lettered: {reason}" for row in gone})
    letters = [dead_letters_table.letter(row.raw, reason, source, now, max_payload) for row in gone]
    dead_letters_table.insert_dead_letters(conn, letters)
    return letters


def expire_parked(
    conn: Connection, now: float, policy: ConversationPolicy, limit: int, source: str, max_payload: int
) -> list[DeadLetter]:
    """Parked replies older than the orphan TTL leave `posts` as dead letters saying why."""
    gone = posts_table.delete_parked_before(conn, now - policy.orphan_ttl, limit)
    if not gone:
        return []
    parents = sorted({row.parent_id for row in gone})
    dropped = dropped_posts_table.reasons_for(conn, parents)
    there = {row.id for row in gone} | posts_table.existing(conn, parents)
    letters = []
    for row in gone:
        if row.parent_id in dropped:
            reason = f"orphan reply: its parent {row.parent_id} was dropped ({dropped[row.parent_id]})"
        elif row.parent_id in there:
            reason = f"orphan reply: its parent {row.parent_id} arrived, but not the thread's root post within {policy.orphan_ttl:g} s"  # noqa: E501
        else:
            reason = f"orphan reply: its parent {row.parent_id} did not arrive within {policy.orphan_ttl:g} s"
        letters.append(dead_letters_table.letter(row.raw, reason, source, now, max_payload))
    dead_letters_table.insert_dead_letters(conn, letters)
    return letters


def expire_rootless(
    conn: Connection, roots: Sequence[str], now: float, policy: ConversationPolicy, source: str, max_payload: int
) -> list[DeadLetter]:
    """Conversations that replies named (Twitter v2) but whose root never came (`orphaned`):
    their replies leave `posts` as dead letters and the conversation is forgotten."""
    if not roots:
        return []
    gone = posts_table.delete_conversations(conn, roots)
    conversations_table.forget(conn, roots)
    reason = "orphan reply: root {} did not arrive within {:g} s"
    letters = [
        dead_letters_table.letter(row.raw, reason.format(row.root_id, policy.orphan_ttl), source, now, max_payload)
        for row in gone
    ]
    dead_letters_table.insert_dead_letters(conn, letters)
    return letters


@dataclass(frozen=True)
class TimerLimits:
    """What bounds a timer tick and where its dead letters say they came from."""

    rows: int  # rows each step takes at most
    resend_after: float  # seconds before a request the broker never acknowledged is sent again
    dropped_keep: float  # seconds the ids of dropped posts are kept
    source: str
    max_payload: int


def timer_steps(now: float, policy: ConversationPolicy, limits: TimerLimits) -> dict[str, TimerStep]:
    """A tick's steps by name, each a transaction's work: due requests and rootless
    conversations, replies stranded below rooted parents, expired orphans, unsent requests."""
    rows, source, max_payload = limits.rows, limits.source, limits.max_payload

    def due(conn: Connection) -> Timed:
        conversations = conversations_table.take_due(conn, now, rows)
        rootless = [c.root_id for c in conversations if orphaned(c, now, policy)]
        letters = expire_rootless(conn, rootless, now, policy, source, max_payload)
        waiting = [c for c in conversations if c.root_id not in rootless]
        return conversations_table.fire(conn, waiting, now, policy), letters

    def stranded(conn: Connection) -> Timed:
        if parents := posts_table.stranded_parents(conn, rows):
            log.warning("parked replies below rooted parents: resolved by the timer", parents=len(parents))
            return sweep(conn, parents, [], now, policy), []
        return [], []

    def orphans(conn: Connection) -> Timed:
        dropped_posts_table.forget_dropped(conn, now, limits.dropped_keep, rows)
        return [], expire_parked(conn, now, policy, rows, source, max_payload)

    def unsent(conn: Connection) -> Timed:
        return conversations_table.unsent(conn, now - limits.resend_after, rows), []

    return {"due": due, "stranded": stranded, "orphans": orphans, "unsent": unsent}
