"""What an annotation request names, read from PostgreSQL: the root post and the replies
that joined its conversation up to the request's cutoff, in time order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from threadtag.schemas.events import AnnotationRequest

_THREADS = """
SELECT r.root_id, r.cutoff, p.id, p.text, p.lang, extract(epoch FROM p.ingested_at) AS stamp
FROM unnest(CAST(:roots AS text[]), CAST(:cutoffs AS int[])) AS r(root_id, cutoff)
JOIN posts p ON p.root_id = r.root_id AND p.conv_pos <= r.cutoff
ORDER BY r.root_id, r.cutoff, p.created_at, p.id
"""


@dataclass
class Thread:
    text: str = ""
    lang: str | None = None
    replies: list[str] = field(default_factory=list)
    found: bool = False  # the root post is stored
    stamp: float = float("-inf")  # when the newest of these posts was stored (epoch s): the request's moment


def read_threads(conn: Connection, requests: Sequence[AnnotationRequest]) -> dict[tuple[str, int], Thread]:
    """(root id, cutoff) -> its thread, for every distinct pair of `requests`, in one query."""
    pairs = sorted({(r.root_id, r.cutoff) for r in requests})
    threads: dict[tuple[str, int], Thread] = defaultdict(Thread)
    params = {"roots": [root for root, _ in pairs], "cutoffs": [cutoff for _, cutoff in pairs]}
    for row in conn.execute(text(_THREADS), params):
        thread = threads[(row.root_id, row.cutoff)]
        thread.stamp = max(thread.stamp, float(row.stamp))
        if row.id == row.root_id:
            thread.text, thread.lang, thread.found = row.text, row.lang, True
        else:
            thread.replies.append(row.text)
    return {pair: threads[pair] for pair in pairs}
