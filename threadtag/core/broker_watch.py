"""A worker that has lost its broker exits, for its supervisor to restart it.

A broker that comes back empty (the embedded one keeps everything in memory) has lost the
committed offsets: a consumer that lived through the outage keeps its old positions, past
the new logs' ends, and skips what is sent next. A fresh process starts from the committed
offsets (none: the earliest record), and the stream and the annotations are idempotent, so
reading again loses and doubles nothing (the tests show both).
"""

from __future__ import annotations

import os
import socket
import threading
import time

import structlog

from threadtag.core.failures import EXIT_CONNECTION

log = structlog.get_logger("threadtag")


def _answers(hosts: list[tuple[str, int]]) -> bool:
    for host, port in hosts:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            continue
    return False


def exit_when_broker_lost(bootstrap: str, lost_after: float, every: float = 1.0) -> None:
    """In a daemon thread: when no bootstrap server has taken a connection for `lost_after`
    seconds, log one line and exit (EXIT_CONNECTION); 0: never."""
    if not lost_after:
        return
    hosts = [(host, int(port)) for host, port in (server.rsplit(":", 1) for server in bootstrap.split(","))]

    def watch() -> None:
        lost_since: float | None = None
        while True:
            time.sleep(every)
            if _answers(hosts):
                lost_since = None
                continue
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since >= lost_after:
                log.error(
                    "the Kafka broker has not answered: exiting, for the supervisor to restart this worker "
                    "(it resumes from the committed offsets)",
                    bootstrap=bootstrap, seconds=lost_after,
                )  # fmt: skip
                os._exit(EXIT_CONNECTION)

    threading.Thread(target=watch, daemon=True, name="broker-watch").start()
