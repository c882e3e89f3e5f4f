"""The PostgreSQL tables (SQLAlchemy 2). Alembic revisions in migrations/ create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class PostRow(Base):
    """Every post the stream kept: roots and replies, with the raw JSON it came as. A reply
    whose root is not known yet waits here, parked (root_id NULL), until its parent comes."""

    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(Text)
    root_id: Mapped[str | None] = mapped_column(
        Text, comment="the conversation's root post; itself for a root; NULL while parked"
    )
    conv_pos: Mapped[int | None] = mapped_column(
        Integer, comment="order of joining its conversation: 0 the root, 1.. replies; a request's cutoff"
    )
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_posts_created_at", "created_at"),
        Index("ix_posts_author_created", "author_id", "created_at"),
        Index("ix_posts_root_pos", "root_id", "conv_pos"),
        # The sweep and the orphan timer read only parked rows.
        Index("ix_posts_parked", "ingested_at", postgresql_where=sql_text("root_id IS NULL")),
        Index("ix_posts_parked_parent", "parent_id", postgresql_where=sql_text("root_id IS NULL")),
    )


class ConversationRow(Base):
    """A conversation's bookkeeping: how many replies joined, which requests went out, when
    the next one is due. The stream's only state besides `posts`."""

    __tablename__ = "conversations"

    root_id: Mapped[str] = mapped_column(Text, primary_key=True)
    root_arrived: Mapped[bool] = mapped_column(Boolean, comment="false while only replies named it (Twitter v2)")
    n_replies: Mapped[int] = mapped_column(Integer, comment="replies joined so far (their conv_pos are 1..n)")
    emitted_replies: Mapped[int] = mapped_column(Integer, comment="replies in the last request: its cutoff")
    last_seq: Mapped[int] = mapped_column(Integer, comment="requests made so far")
    last_reason: Mapped[str | None] = mapped_column(Text)
    sent_seq: Mapped[int] = mapped_column(Integer, comment="requests the broker acknowledged")
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), comment="when a post last joined")
    growth_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment="when the final request went")
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment="the timer's next look")

    __table_args__ = (
        Index("ix_conversations_due", "next_due_at", postgresql_where=sql_text("next_due_at IS NOT NULL")),
        Index("ix_conversations_unsent", "requested_at", postgresql_where=sql_text("sent_seq < last_seq")),
    )


class DroppedPostRow(Base):
    """Ids of posts the stream dropped (retweets, replies without content) or dead-lettered,
    so that their replies' dead letters can say so instead of "parent did not arrive"; kept
    DROPPED_POSTS_KEEP_SECONDS."""

    __tablename__ = "dropped_posts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    dropped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_dropped_posts_dropped_at", "dropped_at"),)


class ModelVersionRow(Base):
    """Every model a worker served or `retrain` produced; metrics and the gate's decision."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))
    train_examples: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))
    decision: Mapped[str | None] = mapped_column(
        Text, comment="registered | activated | rejected (by the retrain gate)"
    )
    parent_version: Mapped[str | None] = mapped_column(Text, comment="the model it was trained from")
    training_data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=sql_text("'{}'::jsonb"), comment="examples used and skipped, by reason"
    )
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # At most one active model.
        Index("ux_model_versions_one_active", "active", unique=True, postgresql_where=sql_text("active")),
    )


class AnnotationRow(Base):
    """Ranked hashtags for a root post from one request, by one model version."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    root_id: Mapped[str] = mapped_column(Text, ForeignKey("posts.id"))
    request_seq: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(Text, ForeignKey("model_versions.version"))
    n_replies: Mapped[int] = mapped_column(Integer)
    hashtags: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, comment='[{"tag": "aus open", "score": -1.2}, ...]')
    gold_tags: Mapped[list[str] | None] = mapped_column(
        JSONB(none_as_null=True),
        comment="the hashtags the root's author wrote (not seen by the annotation); NULL: none",
    )
    hits_at_1: Mapped[int | None] = mapped_column(Integer)
    hits_at_5: Mapped[int | None] = mapped_column(Integer)
    final: Mapped[bool] = mapped_column(
        Boolean,
        server_default=sql_text("false"),
        comment="true: the conversation had closed (quiet CONVERSATION_CLOSE_SECONDS) when this was its answer",
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # A redelivered request writes nothing new.
        UniqueConstraint("root_id", "request_seq", "model_version", name="uq_annotations_request"),
        Index("ix_annotations_root_created", "root_id", "created_at"),
        Index(
            "ix_annotations_hashtags", "hashtags", postgresql_using="gin", postgresql_ops={"hashtags": "jsonb_path_ops"}
        ),
    )


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text, comment="topic[/partition/offset] the message came from")
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_dead_letters_created", "created_at"),)
