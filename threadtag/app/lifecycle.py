"""What every long-running process shares (a migrated database, shutdown on signals) and the
deployment's one-shot operations: migrate, topics, the embedded broker, replay, doctor."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
import typer
from sqlalchemy import Engine

from threadtag.app import schema
from threadtag.app.doctor import run_checks
from threadtag.core.broker import EmbeddedBroker, create_topics, stream_topics
from threadtag.core.database import hide_password, resolve_database_url, sync_engine
from threadtag.core.failures import EXIT_CONNECTION, UsageError
from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.retries import with_db_retry
from threadtag.core.settings import Settings
from threadtag.pipeline.replay import replay

log = structlog.get_logger("threadtag")


def migrated_url(settings: Settings) -> str:
    """The resolved database's URL, migrated to head first (workers start after migrations)."""
    url = resolve_database_url(settings)
    # A worker started before its database waits for it (a log line a retry), as it does
    # when the database goes away later.
    with_db_retry(lambda: schema.migrate(url), settings.db_max_backoff_seconds, threading.Event())
    return url


def migrated_engine(settings: Settings) -> Engine:
    """An engine on the resolved database, migrated to head first."""
    return sync_engine(migrated_url(settings), pool_pre_ping=True)


def stop_on_signals(timeout: float) -> threading.Event:
    """An event set by SIGTERM/SIGINT: workers finish the batch in hand and exit. One that is
    still busy `timeout` seconds later exits anyway: nothing of an unfinished batch is
    committed, so its records are read again after the restart."""
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            timer = threading.Timer(timeout, lambda: (log.warning("shutdown timed out: exiting"), os._exit(0)))
            timer.daemon = True
            timer.start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    return stop


def quiet_kafka_client(settings: Settings) -> None:
    """One-shot commands report a broker that does not answer in their own one line; the
    client's connection retries would add three more. LOG_LEVEL=DEBUG keeps them."""
    if settings.log_level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


@contextmanager
def kafka_client_quiet(settings: Settings) -> Iterator[None]:
    """A worker's first contact with the broker, as quiet as a one-shot command's (a broker at
    a closed port: one line with the hint, not twenty of the client's); afterwards the
    client's warnings are logged again, for a broker that goes away while the worker runs."""
    logger = logging.getLogger("kafka")
    level = logger.level
    quiet_kafka_client(settings)
    try:
        yield
    finally:
        logger.setLevel(level)


def migrate(settings: Settings, revision: str) -> None:
    """Bring the resolved database to `revision` and say where it is."""
    url = resolve_database_url(settings)
    before = schema.current_revision(url)
    schema.migrate(url, revision)
    after = schema.current_revision(url)
    # Say what the database is at, not what was asked: upgrading to an older revision changes nothing.
    change = "unchanged" if after == before else f"was {before or 'empty'}"
    note = "" if revision in ("head", after) else f"; asked for {revision}, migrate only upgrades"
    typer.echo(f"database at revision {after} ({change}{note}): {hide_password(url)}")


def topics(settings: Settings) -> None:
    """Create the pipeline's topics on the configured cluster (those missing)."""
    quiet_kafka_client(settings)
    if not settings.kafka_bootstrap_servers:
        raise UsageError("set KAFKA_BOOTSTRAP_SERVERS")
    create_topics(settings, settings.kafka_bootstrap_servers)
    typer.echo(f"topics ready: {', '.join(stream_topics(settings))}")


def broker(settings: Settings, port: int) -> None:
    """The embedded broker in the foreground, with the pipeline's topics, until Ctrl-C or
    SIGTERM: either stops the Tansu process too, so its port is free again."""
    stop = stop_on_signals(settings.shutdown_timeout_seconds)
    with EmbeddedBroker(port) as running:
        create_topics(settings, running.bootstrap)
        typer.echo(f"embedded broker on {running.bootstrap}; export KAFKA_BOOTSTRAP_SERVERS={running.bootstrap}")
        typer.echo("stop with Ctrl-C")
        stop.wait()
    log.info("embedded broker stopped", bootstrap=running.bootstrap)


def replay_file(settings: Settings, file: Path, speed: float | None, topic: str | None, progress: bool) -> None:
    """Produce a file of raw posts to the tweets topic; `speed` None = as fast as possible."""
    quiet_kafka_client(settings)
    if not settings.kafka_bootstrap_servers:
        raise UsageError("set KAFKA_BOOTSTRAP_SERVERS (e.g. from `threadtag broker`)")
    if not file.exists():
        raise UsageError(f"no file {file}")
    sent = replay(
        file,
        settings.kafka_bootstrap_servers,
        topic or settings.tweets_topic,
        speed,
        settings.max_message_bytes,
        settings.kafka_producer_max_batch_bytes,
        progress,
        kafka_python_options(settings),
        settings.replay_send_timeout_seconds,
    )
    typer.echo(f"replayed {sent} posts to {topic or settings.tweets_topic}")


def doctor(settings: Settings) -> int:
    """Print one line per check; the exit code (3 when a required check fails)."""
    quiet_kafka_client(settings)
    checks = []
    for check in run_checks(settings):  # each line as soon as its check is done
        typer.echo(check.line())
        checks.append(check)
    return EXIT_CONNECTION if any(c.required and not c.ok for c in checks) else 0
