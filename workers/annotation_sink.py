"""Annotations into PostgreSQL, as a sink: `add` rows, then `flush` them in one transaction.

Writes are idempotent: the unique key (root_id, request_seq, model_version) turns a
redelivered request into no new row, so a worker that crashed after writing and before
committing its offsets leaves exactly one row per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert

from schemas.posts import Post
from schemas.tables import AnnotationRow, DeadLetterRow, ModelVersionRow, PostRow


@dataclass(frozen=True)
class Annotation:
    post: Post
    request_seq: int
    n_replies: int
    hashtags: list[dict[str, Any]]  # [{"tag": ..., "score": ...}], best first


def post_values(post: Post, root_id: str) -> dict[str, Any]:
    return {
        "id": post.id,
        "platform": post.platform,
        "author_id": post.author_id,
        "created_at": post.created_at,
        "text": post.text,
        "lang": post.lang,
        "parent_id": post.parent_id,
        "root_id": root_id,
        "raw": post.raw,
    }


def register_model_version(engine: Engine, version: str, path: str, metrics: dict[str, Any], make_active: bool) -> None:
    """Insert the version if new. `make_active`: it replaces the active one; otherwise it is
    made active only when no version is (a first deployment)."""
    with engine.begin() as conn:
        conn.execute(
            insert(ModelVersionRow)
            .values(version=version, path=path, metrics=metrics, active=False)
            .on_conflict_do_nothing(index_elements=["version"])
        )
        has_active = conn.execute(select(ModelVersionRow.version).where(ModelVersionRow.active)).first()
        if make_active or not has_active:
            conn.execute(update(ModelVersionRow).where(ModelVersionRow.active).values(active=False))
            conn.execute(update(ModelVersionRow).where(ModelVersionRow.version == version).values(active=True))


@dataclass
class AnnotationSink:
    engine: Engine
    model_version: str
    model_path: str
    pending: list[Annotation] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)

    def register_model(self, metrics: dict[str, Any] | None = None) -> None:
        """Record this worker's model version; it becomes the active one only when none is."""
        register_model_version(self.engine, self.model_version, self.model_path, metrics or {}, make_active=False)

    def add(self, annotations: list[Annotation]) -> None:
        self.pending.extend(annotations)

    def add_dead_letter(self, source: str, reason: str, payload: bytes) -> None:
        self.dead.append({"source": source, "reason": reason, "payload": payload})

    def flush(self) -> int:
        """Write what was added in one transaction; returns the annotation rows new to the database."""
        if not self.pending and not self.dead:
            return 0
        with self.engine.begin() as conn:
            if self.dead:
                conn.execute(insert(DeadLetterRow).values(self.dead))
            if not self.pending:
                self.dead = []
                return 0
            # The root row may not be stored yet (the post writer runs apart): insert it bare,
            # the writer fills in what is missing.
            conn.execute(
                insert(PostRow)
                .values([post_values(a.post, a.post.id) for a in self.pending])
                .on_conflict_do_nothing(index_elements=["id"])
            )
            result = conn.execute(
                insert(AnnotationRow)
                .values(
                    [
                        {
                            "root_id": a.post.id,
                            "request_seq": a.request_seq,
                            "model_version": self.model_version,
                            "n_replies": a.n_replies,
                            "hashtags": a.hashtags,
                        }
                        for a in self.pending
                    ]
                )
                .on_conflict_do_nothing(constraint="uq_annotations_request")
                .returning(AnnotationRow.id)  # rowcount is -1 for multi-row inserts
            )
            written = len(result.all())
        self.pending, self.dead = [], []
        return written
