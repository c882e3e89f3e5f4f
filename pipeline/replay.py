"""Replay a file of raw posts into the tweets topic, in file order, paced by their timestamps."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from tqdm import tqdm

from threadtag.models.corpus import open_text
from threadtag.schemas.posts import InvalidPost, parse_post


@dataclass(frozen=True)
class RawLine:
    payload: bytes
    key: bytes | None
    created_at: datetime | None  # None when the line is not a valid post: sent at once, it dead-letters


def read_lines(path: Path, max_bytes: int) -> Iterator[RawLine]:
    for line in open_text(path):
        payload = line.rstrip("\n").encode("utf-8")
        if not payload:
            continue
        try:
            post = parse_post(payload, max_bytes)
        except InvalidPost:
            yield RawLine(payload, None, None)
            continue
        yield RawLine(payload, post.id.encode(), post.created_at)


class ReplayStopped(RuntimeError):
    """The broker stopped taking the replay's records; says how many it acknowledged."""


def replay(
    path: Path,
    bootstrap: str,
    topic: str,
    speed: float | None,
    max_bytes: int,
    producer_batch_bytes: int | None,
    progress: bool = True,
    security: Mapping[str, Any] | None = None,
    deadline_s: float = 60.0,
) -> int:
    """Send every line of `path` to `topic`; `speed` = time factor (60 = a minute per second), None = no waiting.
    `security`: kafka-python's TLS/SASL arguments. A broker that takes nothing for
    `deadline_s` ends the replay with ReplayStopped (how many records it acknowledged)."""
    lines = list(read_lines(path, max_bytes))
    extra = {"batch_size": producer_batch_bytes} if producer_batch_bytes else {}
    extra.update(security or {})
    deadline_ms = int(deadline_s * 1000)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=5,
        acks="all",
        max_block_ms=deadline_ms,
        # kafka-python wants at least linger + its 30 s request timeout here
        delivery_timeout_ms=max(deadline_ms, 30_005),
        **extra,
    )
    futures = []
    first: datetime | None = None
    started = time.monotonic()
    try:
        for line in tqdm(lines, desc="replay", unit="post", disable=not progress):
            if speed and line.created_at is not None:
                first = first or line.created_at
                wait = (line.created_at - first).total_seconds() / speed - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
            futures.append(producer.send(topic, key=line.key, value=line.payload))
        producer.flush(timeout=deadline_s)
    except KafkaTimeoutError as exc:
        raise ReplayStopped(
            f"the broker took nothing for {deadline_s:g} s: {_acked(futures)} of {len(lines)} records "
            f"of {path} acknowledged"
        ) from exc
    finally:
        try:
            producer.close(timeout=0)
        except KafkaTimeoutError:
            pass  # records still pending are given up on: ReplayStopped counted what was acknowledged
    if _acked(futures) < len(lines):
        raise ReplayStopped(f"{_acked(futures)} of {len(lines)} records of {path} acknowledged by the broker")
    return len(lines)


def _acked(futures: list[Any]) -> int:
    return sum(1 for f in futures if f.is_done and f.succeeded())
