"""What the benchmarks share (a harness, not a benchmark): their settings on the embedded
broker, source posts (the real tweets of ../shared, replicated, else generated threads),
fresh databases, producing and consuming, the consume-only baseline, the workers as
processes, and for the end-to-end ones a database serving a model and what the inference
worker logged."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import Engine, create_engine, make_url, text

from threadtag.app.processes import CommandProcess, child_env
from threadtag.app.schema import migrate
from threadtag.core.broker import create_topics, ensure_topics
from threadtag.core.database import on_database, server_url
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import open_text
from threadtag.pipeline.normalize import replies_per_root
from threadtag.schemas.posts import InvalidPost, parse_post
from threadtag.workers.model_registry import register_checkpoint

TWEETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "tweets" / "rumoureval2017-traindev.jsonl.gz"


def bench_settings(bootstrap: str, tmp: Path, **overrides: Any) -> Settings:
    """Settings of a benchmark's workers on the embedded broker: short group timeouts (Tansu
    waits out the session timeout on joins), no metrics ports, quiet logs."""
    base: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_session_timeout_s": 6,
        "kafka_heartbeat_interval_s": 1,
        "stream_data_dir": tmp / "stream",
        "metrics_port": 0,
        "log_level": "WARNING",
    }
    return Settings(**{**base, **overrides})


def generated_stream(threads: int = 300, replies: int = 14, seed: int = 7) -> list[bytes]:
    """Synthetic v1.1 threads (replies to the root or to earlier replies), in time order."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = []
    for t in range(threads):
        root = 10_000_000 + t * 100
        ids = [root]
        rows.append((t * 60, root, None))
        for r in range(1, replies + 1):
            rows.append((t * 60 + r, root + r, rng.choice(ids)))
            ids.append(root + r)
    rows.sort()
    return [
        json.dumps(
            {
                "id_str": str(pid),
                "in_reply_to_status_id_str": None if parent is None else str(parent),
                "created_at": (t0 + timedelta(seconds=sec)).strftime("%a %b %d %H:%M:%S %z %Y"),
                "text": f"generated words for post {pid}",
            }
        ).encode()
        for sec, pid, parent in rows
    ]


def expected_replies(lines: list[bytes], settings: Settings) -> dict[str, int]:
    """Root id -> replies the pipeline should assemble."""
    posts = []
    for line in lines:
        try:
            posts.append(parse_post(line, settings.max_message_bytes))
        except InvalidPost:
            continue
    return replies_per_root(posts)


def consumer_for(bootstrap: str, topic: str) -> KafkaConsumer:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return consumer


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def source_posts(path: Path | None = TWEETS) -> list[bytes]:
    """The lines of a tweets file (the real threads of ../shared by default), else generated threads."""
    if path is not None and path.exists():
        return [line.rstrip("\n").encode() for line in open_text(path) if line.strip()]
    return generated_stream()


def replicate(lines: list[bytes], posts: int) -> list[bytes]:
    """Copies of the threads with ids offset per copy, until there are `posts` lines."""
    out: list[bytes] = []
    copy = 0
    while len(out) < posts:
        for line in lines:
            raw = json.loads(line)
            for key in ("id_str", "in_reply_to_status_id_str"):
                if raw.get(key):
                    raw[key] = f"{copy}{raw[key]}" if copy else raw[key]
            out.append(json.dumps(raw).encode())
        copy += 1
    return out[:posts]


@cache
def admin_url() -> str:
    """The local PostgreSQL server, else the embedded one (started on first use)."""
    return server_url(Settings())


def _as_admin(statement: str) -> None:
    """CREATE/DROP DATABASE, which must run outside a transaction."""
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def fresh_database(timezone: str | None = None) -> str:
    """A new, migrated database; `timezone`: its sessions' TimeZone (default: the server's)."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    _as_admin(f'CREATE DATABASE "{name}"')
    if timezone:
        _as_admin(f"ALTER DATABASE \"{name}\" SET timezone TO '{timezone}'")
    url = on_database(admin_url(), name)
    migrate(url)
    return url


def drop_database(url: str) -> None:
    """A bench's database, dropped once its numbers are read (every run makes a new one). Left
    behind, they cost the next runs: 5 backlog pairs stored 1.12 times consume-only with the
    databases of earlier runs kept, 1.18-1.19 with each dropped."""
    _as_admin(f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)')


def produce_all(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks=1)
    for line in lines:
        producer.send(topic, value=line)
    producer.flush()
    producer.close()


def count_records(bootstrap: str, topic: str) -> list[bytes]:
    consumer = consumer_for(bootstrap, topic)
    values: list[bytes] = []
    while True:
        polled = [r.value for records in consumer.poll(timeout_ms=1500).values() for r in records]
        if not polled:
            break
        values += polled
    consumer.close()
    return values


def consume_only(bootstrap: str, lines: list[bytes], partitions: int) -> float:
    topic = f"baseline-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [topic], partitions, 1)
    produce_all(bootstrap, topic, lines)
    consumer = consumer_for(bootstrap, topic)
    seen, started = 0, None
    while seen < len(lines):
        got = sum(len(records) for records in consumer.poll(timeout_ms=500).values())
        if got and started is None:
            started = time.perf_counter()
        seen += got
    consumer.close()
    return len(lines) / (time.perf_counter() - (started or time.perf_counter()))


def paced(bootstrap: str, topic: str, lines: list[bytes], rate: float) -> dict[int, float]:
    """Send at `rate`; line index -> send time."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    sent: dict[int, float] = {}
    started = time.time()
    for i, line in enumerate(lines):
        wait = started + i / rate - time.time()
        if wait > 0:
            time.sleep(wait)
        sent[i] = time.time()
        producer.send(topic, value=line)
    producer.flush()
    producer.close()
    return sent


def workers(settings: Settings, count: int, tmp: Path) -> list[CommandProcess]:
    env = child_env(settings)
    return [CommandProcess(["stream"], env, tmp / f"{settings.stream_app_id}-{i}.log").start() for i in range(count)]


def serving_database(model: Path) -> tuple[str, Engine]:
    """A fresh database on the local PostgreSQL with `model` as its active version."""
    database = fresh_database()
    engine = create_engine(database)
    register_checkpoint(engine, Checkpoint.load(model), model, "always")
    return database, engine


@contextmanager
def stream_and_infer(settings: Settings, bootstrap: str, logs: Path, tag: str = "") -> Iterator[Path]:
    """The topics created, one `threadtag stream` and one `threadtag infer` running until the
    block ends (their logs in `logs`); yields the inference worker's log."""
    create_topics(settings, bootstrap)
    env = child_env(settings)
    infer_log = logs / f"infer{tag}.log"
    workers = [
        CommandProcess(["stream"], env, logs / f"stream{tag}.log").start(),
        CommandProcess(["infer"], env, infer_log).start(),
    ]
    try:
        yield infer_log
    finally:
        for worker in workers:
            worker.stop()


def model_runs(log: Path, start: int = 0) -> tuple[int, int]:
    """(requests, inputs decoded) from the inference worker's JSON log from byte `start` on;
    code that does not log `decoded` decodes every request."""
    requests = decoded = 0
    with log.open("rb") as file:
        file.seek(start)
        logged = file.read().decode("utf-8", errors="replace")
    for line in logged.splitlines():
        if '"batch annotated"' in line:
            event = json.loads(line)
            requests += event["requests"]
            decoded += event.get("decoded", event["requests"])
    return requests, decoded
