"""Annotations into PostgreSQL, as a sink: `add` rows, then `flush` them in one transaction.

Writes are idempotent: the unique key (root_id, request_seq, model_version) turns a
redelivered request into no new row, so a worker that crashed after writing and before
committing its offsets leaves exactly one row per request.

A final annotation whose hashtags equal the newest row of its root by the same model (the
conversation closed without changing the answer) marks that row final instead of writing a
copy of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.dialects.postgresql import insert

from threadtag.core import metrics
from threadtag.schemas.tables import AnnotationRow, DeadLetterRow


@dataclass(frozen=True)
class Annotation:
    root_id: str
    request_seq: int
    n_replies: int
    hashtags: list[dict[str, Any]]  # [{"tag": ..., "score": ...}], best first
    gold_tags: list[str] | None = None  # the root's own hashtags, which the annotation did not see
    hits_at_1: int | None = None
    hits_at_5: int | None = None
    final: bool = False  # from a final request: the conversation had closed
    stamp: float | None = None  # when the newest post it read was stored (epoch s): the latency metric's start


_NEWEST = """
SELECT DISTINCT ON (root_id) id, root_id, hashtags FROM annotations
WHERE model_version = :version AND root_id = ANY(:roots)
ORDER BY root_id, request_seq DESC
"""


@dataclass
class AnnotationSink:
    engine: Engine
    model_version: str  # changes when the worker switches models, always between flushes
    pending: list[Annotation] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)

    def add(self, annotations: list[Annotation]) -> None:
        self.pending.extend(annotations)

    def add_dead_letter(self, source: str, reason: str, payload: bytes) -> None:
        self.dead.append({"source": source, "reason": reason, "payload": payload})

    def flush(self) -> int:
        """Write what was added in one transaction; returns the annotation rows new to the database."""
        if not self.pending and not self.dead:
            return 0
        written = 0
        with self.engine.begin() as conn:
            if self.dead:
                conn.execute(insert(DeadLetterRow).values(self.dead))
            if self.pending:
                written = self._insert_annotations(conn)
        # Cleared and counted only once committed: a failed flush is retried with everything.
        committed = time.time()
        for annotation in self.pending:
            if annotation.stamp is not None:
                metrics.POST_TO_ANNOTATION.observe(max(0.0, committed - annotation.stamp))
        metrics.ROWS_WRITTEN.labels("dead_letters").inc(len(self.dead))
        metrics.ROWS_WRITTEN.labels("annotations").inc(written)
        self.pending, self.dead = [], []
        return written

    def _insert_annotations(self, conn: Connection) -> int:
        """The pending annotations; returns how many are new (the root posts are stored by the stream)."""
        pending = self._mark_unchanged_finals(conn)
        if not pending:
            return 0
        result = conn.execute(
            insert(AnnotationRow)
            .values(
                [
                    {
                        "root_id": a.root_id,
                        "request_seq": a.request_seq,
                        "model_version": self.model_version,
                        "n_replies": a.n_replies,
                        "hashtags": a.hashtags,
                        "gold_tags": a.gold_tags,
                        "hits_at_1": a.hits_at_1,
                        "hits_at_5": a.hits_at_5,
                        "final": a.final,
                    }
                    for a in pending
                ]
            )
            .on_conflict_do_nothing(constraint="uq_annotations_request")
            .returning(AnnotationRow.id)  # rowcount is -1 for multi-row inserts
        )
        return len(result.all())

    def _mark_unchanged_finals(self, conn: Connection) -> list[Annotation]:
        """Mark final the newest rows that final annotations repeat; the annotations left to insert."""
        finals = {a.root_id for a in self.pending if a.final}
        if not finals:
            return self.pending
        params = {"version": self.model_version, "roots": sorted(finals)}
        # root -> its newest row: ("db", row id) or ("batch", position in `left`), and its hashtags
        newest: dict[str, tuple[str, int, Any]] = {
            row.root_id: ("db", row.id, row.hashtags) for row in conn.execute(text(_NEWEST), params)
        }
        marked: list[int] = []
        left: list[Annotation] = []
        for annotation in sorted(self.pending, key=lambda a: a.request_seq):
            where, at, hashtags = newest.get(annotation.root_id, ("", 0, None))
            if annotation.final and where and hashtags == annotation.hashtags:
                if where == "db":
                    marked.append(at)
                else:
                    left[at] = replace(left[at], final=True)
                continue
            newest[annotation.root_id] = ("batch", len(left), annotation.hashtags)
            left.append(annotation)
        if marked:
            conn.execute(text("UPDATE annotations SET final = true WHERE id = ANY(:ids)"), {"ids": marked})
        return left
