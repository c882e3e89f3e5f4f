"""The posts table is the one source of the columns a batch writes."""

from __future__ import annotations

from threadtag.pipeline import posts_table
from threadtag.schemas.tables import PostRow


def test_the_staging_copy_and_insert_name_every_column_of_the_table_but_the_stamp():
    columns = [c.name for c in PostRow.__table__.columns if c.name != "ingested_at"]
    assert list(posts_table._TYPES) == columns
    listed = ", ".join(columns)
    assert f"({listed})" in posts_table._COPY_POSTS and f"({listed}, ingested_at)" in posts_table._INSERT_POSTS
    assert posts_table._TYPES["lang"] == "VARCHAR(16)" and posts_table._TYPES["raw"] == "JSONB"
    assert all(f"{name} {posts_table._TYPES[name]}" in posts_table._STAGE for name in columns)
