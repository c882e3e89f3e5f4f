"""A worker that has lost its broker exits, for its supervisor to restart it.

A broker that comes back empty (the embedded one keeps everything in memory) has lost the
committed offsets: a consumer that lived through the outage keeps its old positions, past
the new logs' ends, and skips what is sent next. A fresh process starts from the committed
offsets (none: the earliest record), and the stream and the annotations are idempotent, so
reading again loses and doubles nothing (the tests show both).

"Answered" means a Kafka answer, not a port that takes connections: behind a partition that
swallows bytes (a dropped route, a black-holed proxy) the port still takes them, and
kafka-python's consumer (3.0.x) then spins in `poll` and grows by megabytes a second
(BENCHMARKS.md, the broker partition); the worker exits instead, its memory with it.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import structlog

from threadtag.core.failures import EXIT_CONNECTION

log = structlog.get_logger("threadtag")

_PROBE_TIMEOUT_S = 5.0  # a live broker answers ApiVersions in milliseconds, even under load
_CORRELATION_ID = 0x7468_7467
_CLIENT_ID = b"threadtag-broker-watch"
# ApiVersions v0 (api key 18): the one request every Kafka broker answers before any
# authentication; header v1 = api key, version, correlation id, client id; the body is empty.
_API_VERSIONS = struct.pack(">hhih", 18, 0, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID


def _kafka_answers(sock: socket.socket) -> bool:
    sock.sendall(struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS)
    reply = b""
    while len(reply) < 8:  # the response's size and correlation id
        chunk = sock.recv(8 - len(reply))
        if not chunk:
            return False
        reply += chunk
    return struct.unpack(">ii", reply)[1] == _CORRELATION_ID


def bootstrap_hosts(bootstrap: str) -> list[tuple[str, int]]:
    """`host:port,host:port` -> [(host, port), ...]."""
    return [(host, int(port)) for host, port in (server.rsplit(":", 1) for server in bootstrap.split(","))]


def answers(hosts: list[tuple[str, int]], kafka_level: bool = True, timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether any of `hosts` answers: a Kafka ApiVersions round trip, or, with
    `kafka_level` False (TLS listeners, which this plain probe cannot speak to), a connection."""
    for host, port in hosts:
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                if not kafka_level or _kafka_answers(sock):
                    return True
        except OSError:  # refused, reset or timed out
            continue
    return False


def exit_when_broker_lost(
    bootstrap: str, lost_after: float, security_protocol: str = "PLAINTEXT", every: float = 1.0
) -> None:
    """In a daemon thread: when no bootstrap server has answered (see `answers`) for
    `lost_after` seconds, log one line and exit (EXIT_CONNECTION); 0: never."""
    if not lost_after:
        return
    kafka_level = security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT")
    hosts = bootstrap_hosts(bootstrap)

    def watch() -> None:
        lost_since: float | None = None
        while True:
            time.sleep(every)
            if answers(hosts, kafka_level):
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
