"""Alembic revisions against the real PostgreSQL: up, down, up again; the schema's guarantees."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.helpers.paths import LOCAL_DB
from threadtag.app.schema import downgrade, migrate

ADMIN = LOCAL_DB


TABLES = {"posts", "annotations", "model_versions", "dead_letters", "conversations", "dropped_posts"}


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()), set(inspector.get_view_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url):
    migrate(database_url)
    tables, views = _schema(database_url)
    assert TABLES <= tables and "latest_annotations" in views
    downgrade(database_url, "base")
    tables, views = _schema(database_url)
    assert not (TABLES & tables) and "latest_annotations" not in views
    migrate(database_url)
    assert TABLES <= _schema(database_url)[0]


def test_a_request_is_stored_once_and_the_view_shows_the_active_models_newest_else_any(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO posts (id, platform, created_at, text, raw, root_id) "
                "VALUES ('r1', 'twitter', now(), 'a post', '{}', 'r1')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO model_versions (version, path, active) VALUES ('old', 'a.pt', false), "
                "('new', 'b.pt', true)"
            )
        )
        insert = text(
            "INSERT INTO annotations (root_id, request_seq, model_version, n_replies, hashtags, created_at) "
            "VALUES ('r1', :seq, :model, :n, CAST(:tags AS jsonb), now() + make_interval(secs => :seq))"
        )
        conn.execute(insert, {"seq": 1, "model": "new", "n": 0, "tags": '[{"tag": "a", "score": -1}]'})
        conn.execute(insert, {"seq": 2, "model": "new", "n": 3, "tags": '[{"tag": "b", "score": -1}]'})
        conn.execute(insert, {"seq": 3, "model": "old", "n": 5, "tags": '[{"tag": "c", "score": -1}]'})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"seq": 2, "model": "new", "n": 3, "tags": "[]"})
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT root_id, request_seq, model_version FROM latest_annotations")).all()
        tagged = conn.execute(text("""SELECT count(*) FROM annotations WHERE hashtags @> '[{"tag": "b"}]'""")).scalar()
    assert rows == [("r1", 2, "new")] and tagged == 1  # the active model's, though "old" wrote later
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE model_versions SET active = true WHERE version = 'old'"))
    with engine.begin() as conn:  # no active model (or one that never annotated): the newest of any
        conn.execute(text("UPDATE model_versions SET active = false"))
        fallback = conn.execute(text("SELECT root_id, request_seq, model_version FROM latest_annotations")).all()
    assert fallback == [("r1", 3, "old")]
    engine.dispose()


def test_psycopg_driver_is_the_one_in_use():
    assert ADMIN.startswith("postgresql+psycopg://") and psycopg.__version__


def test_concurrent_migrations_do_not_collide(database_url):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(migrate, database_url) for _ in range(4)]:
            future.result()  # raises if any migrator failed
    assert TABLES <= _schema(database_url)[0]


def test_migrations_build_the_schema_the_code_declares(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from threadtag.schemas.tables import Base

    migrate(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrate_says_where_the_database_is_not_what_was_asked(database_url, monkeypatch):
    from typer.testing import CliRunner

    from threadtag.cli import app
    from threadtag.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(app, ["migrate"])
        older = CliRunner().invoke(app, ["migrate", "--revision", "0001"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and "database at revision 0008 (was empty)" in first.output
    assert older.exit_code == 0
    assert "database at revision 0008 (unchanged; asked for 0001, migrate only upgrades)" in older.output


def test_conversation_state_is_derived_from_posts_stored_before_it_existed(database_url):
    """0004 gives stored threads their positions and bookkeeping rows, so the stream carries on with them."""
    migrate(database_url, "0003")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO posts (id, platform, created_at, text, raw, root_id) VALUES "
                "('r', 't', '2026-05-01 10:00Z', 'root', '{}', 'r'), ('b', 't', '2026-05-01 10:02Z', 'b', '{}', 'r'), "
                "('a', 't', '2026-05-01 10:01Z', 'a', '{}', 'r')"
            )
        )
        conn.execute(text("INSERT INTO model_versions (version, path) VALUES ('m', 'm.pt')"))
        conn.execute(
            text(
                "INSERT INTO annotations (root_id, request_seq, model_version, n_replies, hashtags) "
                "VALUES ('r', 3, 'm', 2, '[]')"
            )
        )
    migrate(database_url)
    with engine.connect() as conn:
        positions = dict(conn.execute(text("SELECT id, conv_pos FROM posts")).all())
        row = conn.execute(
            text("SELECT root_arrived, n_replies, last_seq, sent_seq, next_due_at FROM conversations")
        ).one()
    engine.dispose()
    assert positions == {"r": 0, "a": 1, "b": 2}
    assert tuple(row) == (True, 2, 3, 3, None)
