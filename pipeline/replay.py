"""Replay a file of raw posts into the tweets topic, in file order, paced by their timestamps."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
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


def replay(
    path: Path, bootstrap: str, topic: str, speed: float | None, max_bytes: int, producer_batch_bytes: int | None,
    progress: bool = True, security: Mapping[str, Any] | None = None,
) -> int:  # fmt: skip
    """Send every line of `path` to `topic`; `speed` = time factor (60 = a minute per second), None = no waiting.
    `security`: kafka-python's TLS/SASL arguments."""
    lines = list(read_lines(path, max_bytes))
    extra = {"batch_size": producer_batch_bytes} if producer_batch_bytes else {}
    extra.update(security or {})
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", **extra)
    first: datetime | None = None
    started = time.monotonic()
    try:
        for line in tqdm(lines, desc="replay", unit="post", disable=not progress):
            if speed and line.created_at is not None:
                first = first or line.created_at
                wait = (line.created_at - first).total_seconds() / speed - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
            producer.send(topic, key=line.key, value=line.payload)
        producer.flush()
    finally:
        producer.close()
    return len(lines)
