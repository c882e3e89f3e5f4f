"""Database work retried with backoff while the database refuses connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy.exc import OperationalError

from threadtag.core import metrics

log = structlog.get_logger(__name__)
T = TypeVar("T")


def with_db_retry(
    write: Callable[[], T], max_backoff: float, stop: threading.Event, waiting: Callable[[float], bool] | None = None
) -> T:
    """Run `write` until the database takes it; back off while it refuses connections, with
    a log line a retry. `waiting(seconds)` spends each wait (default: sleeping) and returns
    True to give up; without it, `stop` ends the retries."""
    delay = 0.5
    while True:
        try:
            return write()
        except OperationalError as exc:
            metrics.set_ready(False)
            log.warning("database unavailable, retrying", error=str(exc).splitlines()[0], retry_in=delay)
            if waiting(delay) if waiting is not None else stop.wait(delay):
                raise
            delay = min(max_backoff, delay * 2)
