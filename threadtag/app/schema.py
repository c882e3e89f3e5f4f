"""The database schema: Alembic revisions in migrations/, applied under an advisory lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from threadtag import migrations
from threadtag.core.database import sync_engine

MIGRATIONS = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser interpolation
    return config


# Key of the advisory lock that serializes migrations: workers that start together on a
# fresh database would otherwise both create the tables.
_MIGRATION_LOCK = 0x7468_7461_67  # "thtag"


def _run_locked(url: str, action: Callable[[Config], None]) -> None:
    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()  # the lock is the session's; Alembic runs its own transaction
            try:
                config = alembic_config(url)
                config.attributes["connection"] = conn
                action(config)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                conn.commit()
    finally:
        engine.dispose()


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (any older state works: Alembic tracks it)."""
    _run_locked(url, lambda config: command.upgrade(config, revision))


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    _run_locked(url, lambda config: command.downgrade(config, revision))
