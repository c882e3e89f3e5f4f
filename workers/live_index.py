"""The hybrid annotator's live index: every labelled root the stream stores (a root whose
author wrote edge hashtags) becomes retrievable without retraining.

Every INDEX_REFRESH_SECONDS the inference worker reads the roots stored since the last look
(posts.ingested_at, then id) with the replies stored so far, and once more when their
conversation closes (conversations.closed_at), so an indexed post's conversation is
complete. Each entry is stamped with its root's ingested_at: a request sees only posts
stored before its own input (Thread.stamp), and never its own root.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from threadtag.models.annotator import HybridAnnotator
from threadtag.models.corpus import lang_of, thread_example
from threadtag.models.text import PLAIN_TEXT, TextPreparation
from threadtag.workers.thread_reader import EVERY_REPLY, read_threads

log = structlog.get_logger(__name__)

# Roots that may carry hashtags ('#' somewhere), stored after the watermark, oldest first.
_NEW_ROOTS = """
SELECT p.id, p.text, p.lang, p.ingested_at, extract(epoch FROM p.ingested_at) AS stamp
FROM posts p
WHERE p.parent_id IS NULL AND p.root_id = p.id AND strpos(p.text, '#') > 0
  AND (p.ingested_at, p.id) > (CAST(:at AS timestamptz), :id)
ORDER BY p.ingested_at, p.id
LIMIT :limit
"""
# Conversations that closed after the watermark, with their roots (labelled or not: the text decides).
_CLOSED = """
SELECT p.id, p.text, p.lang, c.closed_at, extract(epoch FROM p.ingested_at) AS stamp
FROM conversations c JOIN posts p ON p.id = c.root_id
WHERE (c.closed_at, c.root_id) > (CAST(:at AS timestamptz), :id) AND strpos(p.text, '#') > 0
ORDER BY c.closed_at, c.root_id
LIMIT :limit
"""
_EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass
class LiveIndex:
    """Feeds one annotator; `reset` when the worker switches to another model's annotator."""

    annotator: HybridAnnotator
    every: float
    texts: TextPreparation = PLAIN_TEXT  # the worker's: a root's requests prepared its texts already
    batch: int = 5_000
    root_mark: tuple[str, str] = (_EPOCH, "")
    closed_mark: tuple[str, str] = (_EPOCH, "")
    next_look: float = 0.0

    def reset(self, annotator: HybridAnnotator) -> None:
        self.annotator = annotator
        self.root_mark, self.closed_mark, self.next_look = (_EPOCH, ""), (_EPOCH, ""), 0.0

    def refresh(self, conn: Connection, force: bool = False) -> int:
        """Index what was stored since the last look (at most every `every` seconds); returns how many."""
        now = time.monotonic()
        if not force and now < self.next_look:
            return 0
        self.next_look = now + self.every
        added = 0
        while rows := self._after(conn, _NEW_ROOTS, self.root_mark):
            added += self._learn(conn, rows)
            self.root_mark = (rows[-1].ingested_at.isoformat(), rows[-1].id)
        while rows := self._after(conn, _CLOSED, self.closed_mark):
            self._learn(conn, rows)
            self.closed_mark = (rows[-1].closed_at.isoformat(), rows[-1].id)
        if added:
            log.info("labelled posts indexed", added=added, index_size=len(self.annotator.model.index))
        return added

    def _after(self, conn: Connection, query: str, mark: tuple[str, str]) -> list:  # type: ignore[type-arg]
        return list(conn.execute(text(query), {"at": mark[0], "id": mark[1], "limit": self.batch}).all())

    def _learn(self, conn: Connection, rows: list) -> int:  # type: ignore[type-arg]
        # A labelled post's conversation as a request would read it (in time order, bounded).
        threads = read_threads(conn, [(r.id, EVERY_REPLY) for r in rows], self.annotator.conv_tokens_read)
        keys, examples, stamps = [], [], []
        for row in rows:
            replies = threads[(row.id, EVERY_REPLY)].replies
            example = thread_example(row.text, replies, lang_of(row.lang, row.text), self.texts)
            if example.tags and example.post:
                keys.append(row.id)
                examples.append(example)
                stamps.append(float(row.stamp))
        self.annotator.learn(keys, examples, stamps)
        return len(keys)
