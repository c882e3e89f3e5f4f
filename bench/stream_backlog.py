"""Stream benchmark on the embedded broker: a pre-loaded backlog, Kafka writes per post, and
latency at a steady rate, each beside a kafka-python consume-only baseline in the same run.

    .venv/bin/python -m bench.stream_backlog [--posts 50000] [--workers 1] [--rate 200] [--latency-seconds 30]

Posts: the real threads of ../shared/data/tweets/ (else generated ones), replicated with
offset ids until there are --posts of them, so that each copy is a thread of its own.
1. baseline: the backlog in a topic, read by a plain kafka-python loop (posts/s);
2. backlog: the same posts in the tweets topic before the stream worker(s) start; the time
   from the first stored post until every post is stored with its root and every thread
   has its request (the ratio to consume-only), and until every post is stored with its
   root alone (the last threads' requests wait ANNOTATE_QUIET_SECONDS and a timer tick
   more; that wait is printed, with the first ratio it leaves a worker that stores exactly
   as fast as the consume-only loop reads). Requests follow the default policy; Kafka
   writes per post = records on the requests and dead-letter topics once the threads
   closed, per raw post;
3. latency at --rate posts/s: from the send of a post to the broker timestamp of the first
   request whose cutoff includes it (ANNOTATE_EVERY_REPLIES=1, ANNOTATE_QUIET_SECONDS=0,
   so each post asks at once); the baseline: send to receipt by a consume-only loop.
Each stream phase has its own database and topics; a phase drops its database once read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import machine, table
from bench.harness import (
    TWEETS,
    bench_settings,
    consume_only,
    consumer_for,
    count_records,
    drop_database,
    expected_replies,
    fresh_database,
    paced,
    percentile,
    produce_all,
    replicate,
    source_posts,
    workers,
)
from threadtag.core.broker import EmbeddedBroker, create_topics, ensure_topics
from threadtag.core.settings import Settings
from threadtag.pipeline.normalize import RawMessage
from threadtag.pipeline.stream_worker import StreamWorker


def backlog(base: Settings, lines: list[bytes], count: int, tmp: Path) -> dict[str, float]:
    settings = base.namespaced(uuid.uuid4().hex[:6]).model_copy(update={"database_url": fresh_database()})
    create_topics(settings, settings.kafka_bootstrap_servers or "")
    want = expected_replies(lines, settings)
    joined_posts = len(want) + sum(want.values())
    produce_all(settings.kafka_bootstrap_servers or "", settings.tweets_topic, lines)
    engine = create_engine(settings.database_url or "")
    # Progress from `conversations` (a row a thread): counting `posts` every poll cost PostgreSQL
    # 30 ms a time, a sixth of a core taken from the worker under test. `posts` is read once at the end.
    progress = text(
        "SELECT coalesce(sum(1 + n_replies) FILTER (WHERE root_arrived), 0), "
        "count(*) FILTER (WHERE root_arrived AND sent_seq >= 1) FROM conversations"
    )
    stored = text("SELECT count(*) FILTER (WHERE conv_pos IS NOT NULL), min(ingested_at) FROM posts")
    procs = workers(settings, count, tmp)
    try:
        deadline, ingested = time.time() + 1800, None
        while time.time() < deadline:
            with engine.connect() as conn:
                joined, asked = conn.execute(progress).one()
            if joined >= joined_posts and ingested is None:
                ingested = time.time()
            if joined >= joined_posts and asked >= len(want):
                done = time.time()
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"backlog not done: {joined}/{joined_posts} posts joined; logs in {tmp}")
        with engine.connect() as conn:
            positioned, first = conn.execute(stored).one()
        if positioned != joined_posts:
            raise RuntimeError(f"{positioned} posts have a position, {joined_posts} should; logs in {tmp}")
        seconds, ingest_seconds = done - first.timestamp(), (ingested or done) - first.timestamp()
        time.sleep(settings.conversation_close_seconds + 3 * settings.stream_tick_seconds + 2)  # the finals
        requests = count_records(settings.kafka_bootstrap_servers or "", settings.requests_topic)
        letters = count_records(settings.kafka_bootstrap_servers or "", settings.dead_letter_topic)
    finally:
        for proc in procs:
            proc.stop()
        engine.dispose()
    drop_database(settings.database_url or "")  # read: a failed run keeps its database for its logs
    finals = sum(1 for r in requests if json.loads(r)["reason"] == "final")
    return {
        "posts/s": len(lines) / seconds,
        "seconds": seconds,
        "ingest posts/s": len(lines) / ingest_seconds,
        "wait seconds": seconds - ingest_seconds,
        "writes/post": (len(requests) + len(letters)) / len(lines),
        "request bytes/post": sum(map(len, requests)) / len(lines),
        "finals": finals,
        "threads": len(want),
    }


def without_faust(base: Settings, lines: list[bytes]) -> float:
    """The stream worker's own code (pipeline/stream_worker.py) fed by a plain kafka-python
    loop in this process instead of faust: what the consumer framework costs (posts/s)."""
    settings = base.namespaced(uuid.uuid4().hex[:6]).model_copy(update={"database_url": fresh_database()})
    bootstrap = settings.kafka_bootstrap_servers or ""
    create_topics(settings, bootstrap)
    produce_all(bootstrap, settings.tweets_topic, lines)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)

    async def send(topic: str, key: bytes, value: bytes) -> asyncio.Future[object]:
        done = asyncio.get_running_loop().create_future()
        sent = producer.send(topic, key=key, value=value)
        sent.add_both(lambda result: done.get_loop().call_soon_threadsafe(done.set_result, result))
        return done

    consumer = consumer_for(bootstrap, settings.tweets_topic)
    seen, started = 0, None

    async def run() -> None:
        nonlocal seen, started
        engine = create_async_engine(settings.database_url or "")
        worker = StreamWorker(engine, settings, send)
        while seen < len(lines):
            polled = consumer.poll(timeout_ms=500, max_records=settings.stream_batch_size)
            records = [r for batch in polled.values() for r in batch]
            if records and started is None:
                started = time.perf_counter()
            messages = [RawMessage(r.value, r.key, r.topic, r.partition, r.offset) for r in records]
            if messages:
                await worker.store(await worker.prepare(messages))
            seen += len(records)
        await engine.dispose()

    asyncio.run(run())
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    producer.close()
    drop_database(settings.database_url or "")
    return len(lines) / elapsed


def consume_latency(bootstrap: str, lines: list[bytes], rate: float, partitions: int) -> list[float]:
    topic = f"latency-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [topic], partitions, 1)
    consumer = consumer_for(bootstrap, topic)
    consumer.poll(timeout_ms=100)
    tagged = [json.dumps({"i": i, "line": line.decode()}).encode() for i, line in enumerate(lines)]
    sent: dict[int, float] = {}
    sender = threading.Thread(target=lambda: sent.update(paced(bootstrap, topic, tagged, rate)))
    sender.start()
    received: dict[int, float] = {}
    deadline = time.time() + len(lines) / rate + 30
    while len(received) < len(lines) and time.time() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            now = time.time()
            for record in records:
                received[json.loads(record.value)["i"]] = now
    sender.join()
    consumer.close()
    return sorted(1000 * (received[i] - sent[i]) for i in received)


def stream_latency(base: Settings, lines: list[bytes], rate: float, count: int, tmp: Path) -> list[float]:
    settings = base.namespaced(uuid.uuid4().hex[:6]).model_copy(
        update={"database_url": fresh_database(), "annotate_every_replies": 1, "annotate_quiet_seconds": 0}
    )
    bootstrap = settings.kafka_bootstrap_servers or ""
    create_topics(settings, bootstrap)
    want = expected_replies(lines, settings)
    procs = workers(settings, count, tmp)
    engine = create_engine(settings.database_url or "")
    try:
        time.sleep(3 * settings.kafka_session_timeout_s)  # the group joined (Tansu waits out the session timeout)
        sent = paced(bootstrap, settings.tweets_topic, lines, rate)
        time.sleep(5)
        requests = [json.loads(v) for v in count_records(bootstrap, settings.requests_topic)]
    finally:
        for proc in procs:
            proc.stop()
    consumer = consumer_for(bootstrap, settings.requests_topic)
    stamps: dict[tuple[str, int], float] = {}
    while polled := [r for records in consumer.poll(timeout_ms=1500).values() for r in records]:
        for record in polled:
            request = json.loads(record.value)
            key = (request["root_id"], request["cutoff"])
            stamps[key] = min(stamps.get(key, 1e18), record.timestamp / 1000)
    consumer.close()
    index = {json.loads(line).get("id_str"): i for i, line in enumerate(lines)}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, root_id, conv_pos FROM posts WHERE conv_pos IS NOT NULL")).all()
    engine.dispose()
    # A post is in every request of its root whose cutoff >= its position: the first such one counts.
    cutoffs: dict[str, list[int]] = {}
    for root, cutoff in stamps:
        cutoffs.setdefault(root, []).append(cutoff)
    latencies = []
    for post_id, root, position in rows:
        covering = [c for c in cutoffs.get(root, []) if c >= position]
        if covering and post_id in index:
            first = min(stamps[(root, c)] for c in covering)
            latencies.append(1000 * (first - sent[index[post_id]]))
    if len(rows) < len(want) + sum(want.values()) or not requests:
        raise RuntimeError(f"latency run incomplete; logs in {tmp}")
    drop_database(settings.database_url or "")
    return sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=TWEETS if TWEETS.exists() else None)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["backlog", "without-faust", "latency"])
    args = parser.parse_args()
    lines = source_posts(args.file)
    source = str(args.file) if args.file else "generated threads (../shared/data/tweets/ absent)"
    tmp = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    rows = []
    with EmbeddedBroker() as broker:
        base = bench_settings(broker.bootstrap, tmp, conversation_close_seconds=5)
        if "backlog" not in args.skip:
            backlog_lines = replicate(lines, args.posts)
            base_rate = consume_only(broker.bootstrap, backlog_lines, base.kafka_partitions)
            result = backlog(base, backlog_lines, args.workers, tmp)
            plain = None if "without-faust" in args.skip else without_faust(base, backlog_lines)
            # What the wait after the last post (ANNOTATE_QUIET_SECONDS, a timer tick) leaves of the
            # first ratio for a worker that stores exactly as fast as the consume-only loop reads.
            consumed = len(backlog_lines) / base_rate
            ceiling = consumed / (consumed + result["wait seconds"])
            rows += [
                ["backlog: kafka-python consume-only (posts/s)", f"{base_rate:.0f}"],
                [
                    f"backlog: {args.workers} stream worker(s), every thread asked for (posts/s)",
                    f"{result['posts/s']:.0f}",
                ],
                ["backlog: stream / consume-only", f"{result['posts/s'] / base_rate:.2f}"],
                [
                    f"backlog: {args.workers} stream worker(s), every post stored with its root (posts/s)",
                    f"{result['ingest posts/s']:.0f}",
                ],
                ["backlog: stored / consume-only", f"{result['ingest posts/s'] / base_rate:.2f}"],
                ["backlog: from every post stored to every thread asked for (s)", f"{result['wait seconds']:.1f}"],
                ["backlog: stream / consume-only for a worker storing at consume-only speed", f"{ceiling:.2f}"],
                [
                    "backlog: the same worker code fed by kafka-python, no faust (posts/s)",
                    "skipped" if plain is None else f"{plain:.0f}",
                ],
                ["Kafka writes per raw post (requests + dead letters)", f"{result['writes/post']:.3f}"],
                ["request bytes per raw post", f"{result['request bytes/post']:.1f}"],
            ]
            print(
                f"backlog: {len(backlog_lines)} posts, {result['threads']} threads, {result['seconds']:.1f} s",
                flush=True,
            )
        if "latency" not in args.skip:
            some = replicate(lines, int(args.rate * args.latency_seconds))
            floor = consume_latency(broker.bootstrap, some, args.rate, base.kafka_partitions)
            stream = stream_latency(base, some, args.rate, args.workers, tmp)
            for name, values in (("kafka-python consume-only", floor), ("post -> request", stream)):
                rows.append(
                    [
                        f"latency at {args.rate:g} posts/s, {name}: p50 / p95 / p99 / max (ms)",
                        " / ".join(f"{percentile(values, q):.0f}" for q in (0.5, 0.95, 0.99, 1.0)),
                    ]
                )
    print(f"machine: {machine()}")
    print(f"posts: {source}; {args.workers} stream worker(s); {base.kafka_partitions} partitions; logs in {tmp}")
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
