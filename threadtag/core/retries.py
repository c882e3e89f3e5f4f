"""Database work retried with backoff while the database is away, and what counts as away.

psycopg raises OperationalError for an outage and for much that is not one: a value past a
limit of the server (SQLSTATE class 54, e.g. an index row too large) is the record's fault,
and a database, role or password that does not exist is a setting's. Retrying either
would wait forever; only outages are retried, and transactions the server rolled back to
break a deadlock (class 40), which run again at once.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
import structlog
from sqlalchemy.exc import OperationalError

from threadtag.core import metrics

log = structlog.get_logger(__name__)
T = TypeVar("T")

# No SQLSTATE (no answer: refused, reset, timed out), connection exceptions, insufficient
# resources (disk full, too many connections), operator intervention (shutdown, starting up).
_OUTAGE_CLASSES = ("08", "53", "57")
# Transaction rollback: a deadlock or serialization failure; the work is not at fault and
# runs again (two stream workers locking conversations in another order meet so).
_ROLLED_BACK_CLASS = "40"
# What a server says while refusing a connection for a setting (the connection error carries
# no SQLSTATE, only the server's message).
_SETTING_MISTAKES = re.compile(
    r'database "[^"]*" does not exist|role "[^"]*" does not exist|password authentication failed|no pg_hba\.conf entry'
)

# How soon a wait between retries notices the stop event (shutdown).
_STOP_POLL_SECONDS = 0.1


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error: psycopg 3 calls it `sqlstate`, psycopg2 `pgcode`."""
    error = getattr(exc, "orig", None) or exc
    return getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)


def is_setting_mistake(exc: BaseException) -> bool:
    """The server refused the connection for DATABASE_URL's database, role or password."""
    refused = isinstance(exc, (OperationalError, psycopg.OperationalError))
    return refused and _SETTING_MISTAKES.search(str(exc)) is not None


def is_outage(exc: BaseException) -> bool:
    """The database is away (worth waiting for), not refusing this work or this setting."""
    if not isinstance(exc, (OperationalError, psycopg.OperationalError)) or is_setting_mistake(exc):
        return False
    code = sqlstate(exc)
    return code is None or code[:2] in _OUTAGE_CLASSES


def is_rolled_back(exc: BaseException) -> bool:
    """The server rolled the transaction back to break a deadlock (or a serialization failure)."""
    code = sqlstate(exc)
    return isinstance(exc, (OperationalError, psycopg.OperationalError)) and (code or "")[:2] == _ROLLED_BACK_CLASS


def blames_the_data(exc: BaseException) -> bool:
    """The database refused the work itself (its data), neither away, misconfigured nor
    rolled back to break a deadlock."""
    return not (is_outage(exc) or is_setting_mistake(exc) or is_rolled_back(exc))


class _Backoff:
    """What follows a failed attempt: the pause before the next one, or None to raise."""

    def __init__(self, max_backoff: float) -> None:
        self.max_backoff = max_backoff
        self.delay = 0.5
        self.collisions = 0

    def pause(self, exc: OperationalError) -> float | None:
        if is_rolled_back(exc):  # the other transaction went on: run this one again after a short jitter
            self.collisions += 1
            metrics.DB_RETRIES.inc()
            log.warning("transaction rolled back by the database, running it again", error=str(exc).splitlines()[0])
            return random.uniform(0, min(self.max_backoff, 0.05 * self.collisions))
        if not is_outage(exc):
            return None
        metrics.set_ready(False)
        metrics.DB_RETRIES.inc()
        pause, self.delay = self.delay, min(self.max_backoff, self.delay * 2)
        log.warning("database unavailable, retrying", error=str(exc).splitlines()[0], retry_in=pause)
        return pause


def with_db_retry(
    write: Callable[[], T], max_backoff: float, stop: threading.Event, waiting: Callable[[float], bool] | None = None
) -> T:
    """Run `write` until the database takes it; back off while it is away (is_outage), with
    a log line a retry; anything else is raised at once. `waiting(seconds)` spends each wait
    (default: sleeping) and returns True to give up; without it, `stop` ends the retries."""
    backoff = _Backoff(max_backoff)
    while True:
        try:
            return write()
        except OperationalError as exc:
            pause = backoff.pause(exc)
            if pause is None or (waiting(pause) if waiting is not None else stop.wait(pause)):
                raise


async def with_db_retry_async(write: Callable[[], Awaitable[T]], max_backoff: float, stop: threading.Event) -> T:
    """with_db_retry for a coroutine: the waits are the event loop's; `stop` ends the retries."""
    backoff = _Backoff(max_backoff)
    while True:
        try:
            return await write()
        except OperationalError as exc:
            pause = backoff.pause(exc)
            if pause is None:
                raise
            ends = time.monotonic() + pause
            while not stop.is_set() and time.monotonic() < ends:  # polled: a threading.Event cannot be awaited
                await asyncio.sleep(min(_STOP_POLL_SECONDS, max(0.0, ends - time.monotonic())))
            if stop.is_set():
                raise
