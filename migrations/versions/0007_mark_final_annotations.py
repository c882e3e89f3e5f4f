"""annotations.final: the answer for a conversation once it closed; latest_annotations shows it

A final request whose hashtags equal the newest annotation of its root by the same model
marks that row final instead of writing a copy.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VIEW = """
CREATE VIEW latest_annotations AS
SELECT DISTINCT ON (a.root_id)
       a.root_id, a.request_seq, a.model_version, a.n_replies, a.hashtags, a.created_at{final}
FROM annotations a
LEFT JOIN model_versions m ON m.version = a.model_version AND m.active
ORDER BY a.root_id, (m.version IS NOT NULL) DESC, a.created_at DESC, a.request_seq DESC
"""


def upgrade() -> None:
    op.add_column(
        "annotations",
        sa.Column(
            "final",
            sa.Boolean,
            nullable=False,
            server_default=sa.text("false"),
            comment="true: the conversation had closed (quiet CONVERSATION_CLOSE_SECONDS) when this was its answer",
        ),
    )
    # A view's columns can only be added at its end; dropped and made again to keep it readable.
    op.execute("DROP VIEW latest_annotations")
    op.execute(_VIEW.format(final=", a.final"))


def downgrade() -> None:
    op.execute("DROP VIEW latest_annotations")
    op.execute(_VIEW.format(final=""))
    op.drop_column("annotations", "final")
