"""What an annotation request names, read from PostgreSQL: the root post and the replies
that joined its conversation up to the request's cutoff, in time order, at most the first
`max_replies` of them: what the served model reads of a conversation is bounded in tokens,
and every stored reply has at least one, so the replies past that many cannot change its
answer, and a request reads no more rows of a thread of 5,000 replies than of one of 1,000.
(PostgreSQL still scans the thread's index entries to order them; only the rows it returns
are bounded.)"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

EVERY_REPLY = 2**31 - 1  # a cutoff past any conversation's length

_THREADS = """
SELECT r.root_id, r.cutoff, p.id, p.text, p.lang, extract(epoch FROM p.ingested_at) AS stamp
FROM unnest(CAST(:roots AS text[]), CAST(:cutoffs AS int[])) AS r(root_id, cutoff)
CROSS JOIN LATERAL (
    (SELECT id, text, lang, ingested_at, created_at FROM posts WHERE id = r.root_id AND root_id = r.root_id)
    UNION ALL
    (SELECT id, text, lang, ingested_at, created_at FROM posts
     WHERE root_id = r.root_id AND conv_pos BETWEEN 1 AND r.cutoff
     ORDER BY created_at, id LIMIT CAST(:replies AS int))
) p
ORDER BY r.root_id, r.cutoff, p.created_at, p.id
"""


@dataclass
class Thread:
    text: str = ""
    lang: str | None = None
    replies: list[str] = field(default_factory=list)
    found: bool = False  # the root post is stored
    stamp: float = float("-inf")  # when the newest of these posts was stored (epoch s): the request's moment


def read_threads(
    conn: Connection, wanted: Iterable[tuple[str, int]], max_replies: int = 0
) -> dict[tuple[str, int], Thread]:
    """(root id, cutoff) -> its thread, for every distinct pair `wanted`, in one query; at
    most the first `max_replies` replies of each (0: all)."""
    pairs = sorted(set(wanted))
    threads: dict[tuple[str, int], Thread] = defaultdict(Thread)
    params = {
        "roots": [root for root, _ in pairs],
        "cutoffs": [cutoff for _, cutoff in pairs],
        "replies": max_replies or None,  # LIMIT NULL: no limit
    }
    for row in conn.execute(text(_THREADS), params):
        thread = threads[(row.root_id, row.cutoff)]
        thread.stamp = max(thread.stamp, float(row.stamp))
        if row.id == row.root_id:
            thread.text, thread.lang, thread.found = row.text, row.lang, True
        else:
            thread.replies.append(row.text)
    return {pair: threads[pair] for pair in pairs}
