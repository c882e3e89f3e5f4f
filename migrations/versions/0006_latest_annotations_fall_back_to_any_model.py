"""latest_annotations: the active model's newest annotation of each post, else the newest by
any model (a post the active model has not annotated, or an active model no worker can
load, still shows its hashtags)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_VIEW = """
CREATE OR REPLACE VIEW latest_annotations AS
SELECT DISTINCT ON (a.root_id)
       a.root_id, a.request_seq, a.model_version, a.n_replies, a.hashtags, a.created_at
FROM annotations a
{join}
ORDER BY a.root_id, {first}a.created_at DESC, a.request_seq DESC
"""


def upgrade() -> None:
    op.execute(
        _VIEW.format(
            join="LEFT JOIN model_versions m ON m.version = a.model_version AND m.active",
            first="(m.version IS NOT NULL) DESC, ",
        )
    )


def downgrade() -> None:
    op.execute(_VIEW.format(join="JOIN model_versions m ON m.version = a.model_version AND m.active", first=""))
