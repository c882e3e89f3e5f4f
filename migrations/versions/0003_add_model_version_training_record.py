"""add model_versions.decision, parent_version, training_data and activated_at (the retrain record)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "model_versions",
        sa.Column("decision", sa.Text, comment="registered | activated | rejected (by the retrain gate)"),
    )
    op.add_column("model_versions", sa.Column("parent_version", sa.Text, comment="the model it was trained from"))
    op.add_column(
        "model_versions",
        sa.Column(
            "training_data",
            JSONB,
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="examples used and skipped, by reason",
        ),
    )
    op.add_column("model_versions", sa.Column("activated_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("activated_at", "training_data", "parent_version", "decision"):
        op.drop_column("model_versions", column)
