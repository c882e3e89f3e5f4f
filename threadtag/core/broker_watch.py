"""A worker that has lost its broker starts afresh: it replaces itself with a new process of
the same command, which waits for the broker (BROKER_LOST_ACTION=restart, the default), or
exits for its supervisor to restart it (exit).

A broker that comes back empty (the embedded one keeps everything in memory) has lost the
committed offsets: a consumer that lived through the outage keeps its old positions, past
the new logs' ends, and skips what is sent next. A fresh process starts from the committed
offsets (none: the earliest record), and the stream and the annotations are idempotent, so
reading again loses and doubles nothing (the tests show both).

"Answered" means a Kafka answer, not a port that takes connections: behind a partition that
swallows bytes (a dropped route, a black-holed proxy) the port still takes them, and
kafka-python's consumer (3.0.x) then spins in `poll` and grows by megabytes a second
(bench/broker_partition.py); the worker leaves instead, its memory with it.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from typing import Literal

import structlog
from kafka import KafkaAdminClient

from threadtag.core.failures import EXIT_CONNECTION
from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.settings import Settings

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


LostAction = Literal["restart", "exit"]
# Between a failure and the new process: a fault that returns at once cannot spin the machine.
_RESTART_PAUSE_S = 1.0


def start_afresh(reason: str, **fields: object) -> None:
    """Replace this process with a new one of the same command (same pid, so a supervisor or a
    shell sees it run on), which waits for its broker without limit before it starts: a fresh
    consumer reads from the committed offsets, where one that lived through an empty broker's
    return kept positions past the new logs' ends."""
    log.error(reason + ": starting afresh (the new process waits for the broker)", **fields)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    time.sleep(_RESTART_PAUSE_S)
    os.environ["BROKER_WAIT_SECONDS"] = "inf"
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def wait_for_broker(bootstrap: str, seconds: float, security_protocol: str = "PLAINTEXT", every: float = 1.0) -> None:
    """Return once a bootstrap server answers (see `answers`), or after `seconds` (the caller's
    first request then fails with its one line); 0: return at once."""
    kafka_level = security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT")
    hosts = bootstrap_hosts(bootstrap)
    deadline = time.monotonic() + seconds
    said = False
    while time.monotonic() < deadline and not answers(hosts, kafka_level):
        if not said:
            log.warning("waiting for the Kafka broker", bootstrap=bootstrap, seconds=seconds)
            said = True
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))


def watch_broker(settings: Settings, bootstrap: str, topics: list[str]) -> None:
    """A worker's two watches of its broker, as the settings say: lost (leave_when_broker_lost)
    and back empty (leave_when_topics_recreated, for the `topics` it reads)."""
    action = settings.broker_lost_action
    leave_when_broker_lost(bootstrap, settings.broker_lost_exit_seconds, settings.kafka_security_protocol, action)
    leave_when_topics_recreated(settings, bootstrap, topics, action)


def leave_when_broker_lost(
    bootstrap: str,
    lost_after: float,
    security_protocol: str = "PLAINTEXT",
    action: LostAction = "restart",
    every: float = 1.0,
) -> None:
    """In a daemon thread: when no bootstrap server has answered (see `answers`) for
    `lost_after` seconds, start afresh (`restart`) or log one line and exit (EXIT_CONNECTION);
    0: never."""
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
                leave(action, "the Kafka broker has not answered", bootstrap=bootstrap, seconds=lost_after)

    threading.Thread(target=watch, daemon=True, name="broker-watch").start()


def leave_when_topics_recreated(
    settings: Settings, bootstrap: str, topics: list[str], action: LostAction = "restart", every: float = 2.0
) -> None:
    """In a daemon thread: when a topic this worker reads gets another topic id (KIP-516), or
    goes, the broker lost it (an empty broker came back, at once, on the same address): the
    consumer's positions and the group's offsets are the old log's, so start afresh (or
    exit). A broker that gives no topic ids is not watched."""

    def ids(admin: KafkaAdminClient) -> dict[str, object]:
        return {t["name"]: t["topic_id"] if t["error_code"] == 0 else None for t in admin.describe_topics(topics)}

    def watch() -> None:
        admin, known = None, {}
        while True:
            time.sleep(every)
            try:
                admin = admin or KafkaAdminClient(
                    bootstrap_servers=bootstrap,
                    request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
                    **kafka_python_options(settings),
                )
                now = ids(admin)
            except Exception:  # noqa: BLE001 - the broker away: leave_when_broker_lost's to judge
                continue
            if changed := sorted(t for t, was in known.items() if was is not None and now.get(t) != was):
                leave(action, "the topics this worker reads were recreated (the broker lost them)", topics=changed)
            known = {**known, **{t: i for t, i in now.items() if i is not None}}

    threading.Thread(target=watch, daemon=True, name="topic-watch").start()


def leave(action: LostAction, reason: str, **fields: object) -> None:
    """Start afresh (`restart`) or log one line and exit (EXIT_CONNECTION)."""
    if action == "restart":
        start_afresh(reason, **fields)
    log.error(
        reason + ": exiting, for the supervisor to restart this worker (it resumes from the committed offsets)",
        **fields,
    )
    os._exit(EXIT_CONNECTION)
