"""score annotations of labelled roots as they happen: annotations.gold_tags, hits_at_1,
hits_at_5 and the live_quality view (F1@1, F1@5 per model version)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "annotations",
        sa.Column(
            "gold_tags",
            JSONB,
            nullable=True,
            comment="the hashtags the root's author wrote (not seen by the annotation); NULL: none",
        ),
    )
    op.add_column("annotations", sa.Column("hits_at_1", sa.Integer, nullable=True))
    op.add_column("annotations", sa.Column("hits_at_5", sa.Integer, nullable=True))
    # Each labelled root counts once per model version: its newest annotation by that version.
    op.execute(
        """
        CREATE VIEW live_quality AS
        WITH latest AS (
            SELECT DISTINCT ON (a.model_version, a.root_id)
                   a.model_version, a.hits_at_1, a.hits_at_5, jsonb_array_length(a.gold_tags) AS gold
            FROM annotations a
            WHERE jsonb_typeof(a.gold_tags) = 'array'
            ORDER BY a.model_version, a.root_id, a.created_at DESC, a.request_seq DESC
        ), sums AS (
            SELECT model_version, count(*) AS posts, sum(gold) AS gold,
                   sum(hits_at_1) AS hits_at_1, sum(hits_at_5) AS hits_at_5
            FROM latest GROUP BY model_version
        )
        SELECT model_version, posts, hits_at_1, hits_at_5,
               CAST(round(2.0 * hits_at_1 / nullif(posts + gold, 0), 4) AS float8) AS f1_at_1,
               CAST(round(2.0 * hits_at_5 / nullif(5 * posts + gold, 0), 4) AS float8) AS f1_at_5
        FROM sums
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW live_quality")
    op.drop_column("annotations", "hits_at_5")
    op.drop_column("annotations", "hits_at_1")
    op.drop_column("annotations", "gold_tags")
