"""keep the stream's conversation state in PostgreSQL: posts.conv_pos, conversations, dropped_posts

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "posts",
        sa.Column(
            "conv_pos",
            sa.Integer,
            comment="order of joining its conversation: 0 the root, 1.. replies; a request's cutoff",
        ),
    )
    op.alter_column("posts", "root_id", comment="the conversation's root post; itself for a root; NULL while parked")
    # Posts stored before this revision: the root first, replies in time order.
    op.execute(
        """
        UPDATE posts p SET conv_pos = o.pos FROM (
            SELECT id, CASE WHEN id = root_id THEN 0 ELSE
                row_number() OVER (PARTITION BY root_id, id = root_id ORDER BY created_at, id) END AS pos
            FROM posts WHERE root_id IS NOT NULL
        ) o WHERE p.id = o.id
        """
    )
    op.drop_index("ix_posts_root", table_name="posts")
    op.create_index("ix_posts_root_pos", "posts", ["root_id", "conv_pos"])
    # The orphan timer and the sweep read only parked rows.
    op.create_index("ix_posts_parked", "posts", ["ingested_at"], postgresql_where=sa.text("root_id IS NULL"))
    op.create_index("ix_posts_parked_parent", "posts", ["parent_id"], postgresql_where=sa.text("root_id IS NULL"))
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "conversations",
        sa.Column("root_id", sa.Text, primary_key=True),
        sa.Column("root_arrived", sa.Boolean, nullable=False, comment="false while only replies named it (Twitter v2)"),
        sa.Column("n_replies", sa.Integer, nullable=False, comment="replies joined so far (their conv_pos are 1..n)"),
        sa.Column("emitted_replies", sa.Integer, nullable=False, comment="replies in the last request: its cutoff"),
        sa.Column("last_seq", sa.Integer, nullable=False, comment="requests made so far"),
        sa.Column("last_reason", sa.Text),
        sa.Column("sent_seq", sa.Integer, nullable=False, comment="requests the broker acknowledged"),
        sa.Column("requested_at", tz),
        sa.Column("last_change_at", tz, nullable=False, comment="when a post last joined"),
        sa.Column("growth_due_at", tz),
        sa.Column("closed_at", tz, comment="when the final request went"),
        sa.Column("next_due_at", tz, comment="the timer's next look"),
    )
    op.create_index(
        "ix_conversations_due", "conversations", ["next_due_at"], postgresql_where=sa.text("next_due_at IS NOT NULL")
    )
    op.create_index(
        "ix_conversations_unsent", "conversations", ["requested_at"], postgresql_where=sa.text("sent_seq < last_seq")
    )
    # Conversations stored before: complete, their last annotation taken as the final one.
    op.execute(
        """
        INSERT INTO conversations (root_id, root_arrived, n_replies, emitted_replies, last_seq, last_reason,
                                   sent_seq, requested_at, last_change_at, closed_at)
        SELECT p.root_id, bool_or(p.id = p.root_id), count(*) FILTER (WHERE p.id <> p.root_id),
               count(*) FILTER (WHERE p.id <> p.root_id), coalesce(max(a.seq), 0), 'final',
               coalesce(max(a.seq), 0), now(), max(p.ingested_at), now()
        FROM posts p LEFT JOIN (SELECT root_id, max(request_seq) AS seq FROM annotations GROUP BY root_id) a
          ON a.root_id = p.root_id
        WHERE p.root_id IS NOT NULL
        GROUP BY p.root_id
        """
    )
    op.create_table(
        "dropped_posts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("dropped_at", tz, server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dropped_posts")
    op.drop_table("conversations")
    op.drop_index("ix_posts_parked_parent", table_name="posts")
    op.drop_index("ix_posts_parked", table_name="posts")
    op.drop_index("ix_posts_root_pos", table_name="posts")
    op.create_index("ix_posts_root", "posts", ["root_id", "created_at"])
    op.drop_column("posts", "conv_pos")
    op.alter_column("posts", "root_id", comment="the conversation's root post; itself for a root")
