"""create view latest_annotations (each post's newest annotation by the active model)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW latest_annotations AS
        SELECT DISTINCT ON (a.root_id)
               a.root_id, a.request_seq, a.model_version, a.n_replies, a.hashtags, a.created_at
        FROM annotations a
        JOIN model_versions m ON m.version = a.model_version AND m.active
        ORDER BY a.root_id, a.created_at DESC, a.request_seq DESC
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW latest_annotations")
