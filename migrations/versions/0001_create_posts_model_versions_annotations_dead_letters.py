"""create posts, model_versions, annotations and dead_letters

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("author_id", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("parent_id", sa.Text),
        sa.Column("root_id", sa.Text, comment="the conversation's root post; itself for a root"),
        sa.Column("raw", JSONB, nullable=False),
        sa.Column("ingested_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_posts_created_at", "posts", ["created_at"])
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at"])
    op.create_index("ix_posts_root", "posts", ["root_id", "created_at"])
    op.create_table(
        "model_versions",
        sa.Column("version", sa.Text, primary_key=True),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("metrics", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("train_examples", sa.Integer),
        sa.Column("active", sa.Boolean, server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ux_model_versions_one_active", "model_versions", ["active"], unique=True, postgresql_where=sa.text("active")
    )
    op.create_table(
        "annotations",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("root_id", sa.Text, sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("request_seq", sa.Integer, nullable=False),
        sa.Column("model_version", sa.Text, sa.ForeignKey("model_versions.version"), nullable=False),
        sa.Column("n_replies", sa.Integer, nullable=False),
        sa.Column("hashtags", JSONB, nullable=False, comment='[{"tag": "aus open", "score": -1.2}, ...]'),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("root_id", "request_seq", "model_version", name="uq_annotations_request"),
    )
    op.create_index("ix_annotations_root_created", "annotations", ["root_id", "created_at"])
    op.create_index(
        "ix_annotations_hashtags",
        "annotations",
        ["hashtags"],
        postgresql_using="gin",
        postgresql_ops={"hashtags": "jsonb_path_ops"},
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False, comment="topic[/partition/offset] the message came from"),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_dead_letters_created", "dead_letters", ["created_at"])


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("annotations")
    op.drop_table("model_versions")
    op.drop_table("posts")
