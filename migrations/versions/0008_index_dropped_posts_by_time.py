"""dropped_posts by time: the stream timer forgets ids older than DROPPED_POSTS_KEEP_SECONDS

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dropped_posts_dropped_at", "dropped_posts", ["dropped_at"])


def downgrade() -> None:
    op.drop_index("ix_dropped_posts_dropped_at", table_name="dropped_posts")
