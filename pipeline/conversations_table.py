"""The `conversations` table: posts join, timers fire, requests are recorded until the broker
took them. Each function runs inside the caller's transaction and locks the rows it changes
(in root order, so that two workers never wait on each other in a cycle). It imports no
other table's module (pipeline/assembly.py combines them)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, DateTime, text
from sqlalchemy.dialects import postgresql

from threadtag.pipeline.conversations import Conversation, ConversationPolicy, Member, next_due, on_due, on_joined
from threadtag.schemas.events import AnnotationRequest
from threadtag.schemas.tables import ConversationRow

_COLUMNS = [f.name for f in fields(Conversation)]
# The table is the one source of the columns: their SQL types unpack a batch of rows sent as
# one JSON parameter, and its timestamps are the dataclass's epoch seconds (next_due_at is
# derived from the policy, not kept in the dataclass).
_TYPES = {c.name: c.type.compile(dialect=postgresql.dialect()) for c in ConversationRow.__table__.columns}
_TIMES = {c.name for c in ConversationRow.__table__.columns if isinstance(c.type, DateTime)} - {"next_due_at"}


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def _conversation(row: Mapping[str, Any]) -> Conversation:
    values = {name: row[name] for name in _COLUMNS}
    for name in _TIMES:
        values[name] = values[name].timestamp() if values[name] is not None else None
    return Conversation(**values)


_UPDATE = (
    "UPDATE conversations c SET "
    + ", ".join(f"{name} = v.{name}" for name in _TYPES if name != "root_id")
    + " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v("
    + ", ".join(f"{name} {kind}" for name, kind in _TYPES.items())
    + ") WHERE c.root_id = v.root_id"
)


def _write(conn: Connection, convs: Sequence[Conversation], policy: ConversationPolicy) -> None:
    """Write the rows back in one statement."""
    if not convs:
        return
    rows = []
    for conv in convs:
        row: dict[str, Any] = asdict(conv)
        row["next_due_at"] = next_due(conv, policy)
        for name in (*_TIMES, "next_due_at"):
            row[name] = None if row[name] is None else _ts(row[name]).isoformat()  # type: ignore[union-attr]
        rows.append(row)
    conn.execute(text(_UPDATE), {"rows": json.dumps(rows)})


@dataclass
class Joined:
    """Conversations that posts joined in one transaction, before the policy ran."""

    convs: dict[str, Conversation] = field(default_factory=dict)  # root id -> its row, locked, counts updated
    arrived: set[str] = field(default_factory=set)  # roots whose root post came
    replies: Counter[str] = field(default_factory=Counter)  # root id -> replies that joined

    def settle(self, conn: Connection, now: float, policy: ConversationPolicy) -> list[AnnotationRequest]:
        """Apply the policy once per conversation, write the rows back; the requests to send."""
        changed, requests = [], []
        for root, conv in sorted(self.convs.items()):
            conv, out = on_joined(conv, root in self.arrived, self.replies[root], now, policy)
            changed.append(conv)
            requests += out
        _write(conn, changed, policy)
        return requests


_RESERVE = """
INSERT INTO conversations AS c (root_id, root_arrived, n_replies, emitted_replies, last_seq, sent_seq, last_change_at)
SELECT k, k = ANY(CAST(:arrived AS text[])) OR EXISTS (SELECT 1 FROM posts p WHERE p.id = k), n, 0, 0, 0, :now
FROM unnest(CAST(:keys AS text[]), CAST(:counts AS int[])) AS t(k, n)
ON CONFLICT (root_id) DO UPDATE
   SET n_replies = c.n_replies + excluded.n_replies, root_arrived = c.root_arrived OR excluded.root_arrived
RETURNING c.*
"""


def reserve(
    conn: Connection, joined: Joined, replies: Mapping[str, Sequence[Member]], roots: set[str], now: float
) -> dict[str, int]:
    """Root posts `roots` and `replies` (root id -> replies that got their root) join their
    conversations: the rows are locked (in root order) and counted, into `joined`; returns
    post id -> position (replies joining together in time order). A new row counts its root
    as arrived when the root post is stored already (a database written before
    conversations were kept)."""
    keys = sorted(set(replies) | roots)
    if not keys:
        return {}
    counts = [len(replies.get(key, ())) for key in keys]
    params = {"keys": keys, "counts": counts, "arrived": sorted(roots), "now": _ts(now)}
    positions: dict[str, int] = {}
    for row in conn.execute(text(_RESERVE), params).mappings():
        conv = _conversation(row)
        members = sorted(replies.get(conv.root_id, ()))
        first = conv.n_replies - len(members) + 1
        positions.update({post_id: first + i for i, (_, post_id) in enumerate(members)})
        joined.convs[conv.root_id] = conv
        joined.replies[conv.root_id] += len(members)
    joined.arrived |= roots
    return positions


_RELEASE = """
UPDATE conversations c SET n_replies = c.n_replies - v.n
FROM unnest(CAST(:keys AS text[]), CAST(:counts AS int[])) AS v(k, n) WHERE c.root_id = v.k
RETURNING c.*
"""


def release(conn: Connection, joined: Joined, counts: Mapping[str, int]) -> None:
    """Give back positions reserved for replies that another worker stored first (root id ->
    how many), in the table as well as in `joined`: a later reserve in the same transaction
    reads the row again, and a count kept only in memory was lost there (one reply too many
    and a gap in the positions, seen in shuffled two-worker replays)."""
    if not counts:
        return
    params = {"keys": list(counts), "counts": list(counts.values())}
    for row in conn.execute(text(_RELEASE), params).mappings():
        conv = _conversation(row)
        joined.convs[conv.root_id] = conv
        joined.replies[conv.root_id] -= counts[conv.root_id]


def _locked(conn: Connection, where: str, order: str, params: dict[str, Any]) -> list[Conversation]:
    """Rows matching `where`, locked; rows another worker holds are skipped."""
    query = f"SELECT * FROM conversations WHERE {where} ORDER BY {order} LIMIT :limit FOR UPDATE SKIP LOCKED"
    return [_conversation(row) for row in conn.execute(text(query), params).mappings()]


def take_due(conn: Connection, now: float, limit: int) -> list[Conversation]:
    """Conversations whose timer passed."""
    return _locked(conn, "next_due_at <= :now", "next_due_at", {"now": _ts(now), "limit": limit})


def fire(
    conn: Connection, due: Sequence[Conversation], now: float, policy: ConversationPolicy
) -> list[AnnotationRequest]:
    """Apply the timer to `due` (from take_due) and write them back."""
    changed, requests = [], []
    for conv in due:
        conv, out = on_due(conv, now, policy)
        changed.append(conv)
        requests += out
    _write(conn, changed, policy)
    return requests


def forget(conn: Connection, roots: Sequence[str]) -> None:
    if roots:
        conn.execute(
            text("DELETE FROM conversations WHERE root_id = ANY(CAST(:roots AS text[]))"), {"roots": list(roots)}
        )


def unsent(conn: Connection, older_than: float, limit: int) -> list[AnnotationRequest]:
    """Last requests made but never acknowledged by the broker (a worker died in between)."""
    where = "sent_seq < last_seq AND requested_at < :before"
    return [
        conv.request() for conv in _locked(conn, where, "requested_at", {"before": _ts(older_than), "limit": limit})
    ]


def mark_sent(conn: Connection, requests: Sequence[AnnotationRequest]) -> None:
    if not requests:
        return
    statement = text(
        "UPDATE conversations SET sent_seq = greatest(sent_seq, v.seq) "
        "FROM unnest(CAST(:roots AS text[]), CAST(:seqs AS int[])) AS v(root_id, seq) "
        "WHERE conversations.root_id = v.root_id"
    )
    conn.execute(statement, {"roots": [r.root_id for r in requests], "seqs": [r.seq for r in requests]})
