"""Stream benchmark on the embedded broker: ingest-to-assembled throughput and reply latency.

    .venv/bin/python -m bench.stream_throughput [--file F.jsonl.gz] [--workers 1] [--rate 20] [--fetch-waits 1500 100]

Replays ../shared/data/tweets/ if present (else generated threads):
1. baseline: a plain kafka-python loop that only consumes the same raw topic (posts/s);
2. throughput: the whole file as fast as possible into a running pipeline; time from the
   first send until every conversation is assembled (each reply is in a request);
3. latency: the first posts again at a steady --rate; for each request, the time from the
   send of the newest post it contains to the request's own broker timestamp.
The pipeline runs with ANNOTATE_EVERY_REPLIES=1 and ANNOTATE_QUIET_SECONDS=0, so every
reply yields an updated request at once (no debounce in the numbers). Steps 2 and 3 run once
per STREAM_FETCH_MAX_WAIT_MS in --fetch-waits (1500 is what faust alone uses).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from threadtag.models.corpus import open_text
from threadtag.pipeline.assembly import replies_per_root
from threadtag.pipeline.broker import EmbeddedBroker, ensure_topics
from threadtag.pipeline.topology import create_topics
from threadtag.schemas.posts import InvalidPost, parse_post

from bench.common import machine, table
from threadtag.processes import CommandProcess, child_env
from threadtag.settings import Settings

TWEETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "tweets" / "rumoureval2017-traindev.jsonl.gz"


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
        ).encode()  # fmt: skip
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


def send_all(bootstrap: str, topic: str, lines: list[bytes], rate: float | None) -> dict[str, float]:
    """Send lines (paced at `rate` per second if given); post id -> time of send."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, batch_size=1)
    sent: dict[str, float] = {}
    started = time.time()
    for i, line in enumerate(lines):
        if rate:
            wait = started + i / rate - time.time()
            if wait > 0:
                time.sleep(wait)
        try:
            sent[parse_post(line, 1 << 30).id] = time.time()
        except InvalidPost:
            pass
        producer.send(topic, value=line)
    producer.flush()
    producer.close()
    return sent


def baseline(bootstrap: str, lines: list[bytes], partitions: int) -> float:
    topic = f"baseline-{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, [topic], partitions, 1)
    send_all(bootstrap, topic, lines, None)
    consumer = consumer_for(bootstrap, topic)
    started, seen = time.perf_counter(), 0
    while seen < len(lines):
        seen += sum(len(records) for records in consumer.poll(timeout_ms=500).values())
    consumer.close()
    return len(lines) / (time.perf_counter() - started)


def run_pipeline(settings: Settings, bootstrap: str, lines: list[bytes], rate: float | None, workers: int, tmp: Path):
    """Start workers, send `lines`, wait until every conversation is assembled.

    Returns (seconds from first send to last needed request, latencies in ms)."""
    settings = settings.namespaced(uuid.uuid4().hex[:6])
    create_topics(settings, bootstrap)
    env = child_env(settings)
    want = expected_replies(lines, settings)
    procs = [CommandProcess(["stream"], env, tmp / f"worker-{settings.stream_app_id}-{i}.log") for i in range(workers)]
    for proc in procs:
        proc.start()
    try:
        time.sleep(12)  # group join: Tansu waits out the session timeout before the first assignment
        consumer = consumer_for(bootstrap, settings.requests_topic)
        first = time.time()
        sent = send_all(bootstrap, settings.tweets_topic, lines, rate)
        have: dict[str, int] = {}
        latencies: list[float] = []
        last = first
        deadline = time.time() + 600
        while any(have.get(root, -1) < n for root, n in want.items()) and time.time() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    request = json.loads(record.value)
                    ids = [request["post"]["id"], *(p["id"] for p in request["replies"])]
                    newest = max(sent.get(i, 0.0) for i in ids)
                    latencies.append(record.timestamp - 1000 * newest)
                    have[request["root_id"]] = max(have.get(request["root_id"], 0), len(request["replies"]))
                    last = max(last, record.timestamp / 1000)
        consumer.close()
        missing = sum(1 for root, n in want.items() if have.get(root, -1) < n)
        if missing:
            raise RuntimeError(f"{missing} conversations not assembled; see logs in {tmp}")
        return last - first, latencies
    finally:
        for proc in procs:
            proc.stop()


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=TWEETS if TWEETS.exists() else None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20.0, help="posts/s for the latency phase")
    parser.add_argument("--latency-posts", type=int, default=600)
    parser.add_argument("--fetch-waits", type=int, nargs="+", default=[1500, 100])
    args = parser.parse_args()
    if args.file:
        lines = [line.rstrip("\n").encode() for line in open_text(args.file) if line.strip()]
        source = str(args.file)
    else:
        lines = generated_stream()
        source = "generated threads (../shared/data/tweets/ absent)"
    tmp = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    base = Settings(
        kafka_producer_max_batch_bytes=1,
        kafka_session_timeout_s=6,
        kafka_heartbeat_interval_s=1,
        annotate_every_replies=1,
        annotate_quiet_seconds=0,
        conversation_close_seconds=3600,
        stream_data_dir=tmp / "stream",
        log_level="WARNING",
    )
    columns: list[list[str]] = []
    with EmbeddedBroker() as broker:
        base = base.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
        consume_rate = baseline(broker.bootstrap, lines, base.kafka_partitions)
        for wait in args.fetch_waits:
            settings = base.model_copy(update={"stream_fetch_max_wait_ms": wait})
            seconds, _ = run_pipeline(settings, broker.bootstrap, lines, None, args.workers, tmp)
            paced = lines[: args.latency_posts]
            _, latencies = run_pipeline(settings, broker.bootstrap, paced, args.rate, args.workers, tmp)
            latencies.sort()
            columns.append(
                [
                    f"{consume_rate:.0f}",
                    f"{len(lines) / seconds:.0f}",
                    *(f"{percentile(latencies, q):.0f}" for q in (0.5, 0.95)),
                    f"{latencies[-1]:.0f}",
                ]
            )
    print(f"machine: {machine()}")
    print(f"stream: {source}: {len(lines)} posts; {args.workers} stream worker(s); {base.kafka_partitions} partitions")
    measures = [
        "baseline: kafka-python consume-only (posts/s)",
        "pipeline: ingest to assembled, as fast as possible (posts/s)",
        f"latency at {args.rate:g} posts/s, p50 (ms)",
        f"latency at {args.rate:g} posts/s, p95 (ms)",
        f"latency at {args.rate:g} posts/s, max (ms)",
    ]
    header = ["measure", *(f"STREAM_FETCH_MAX_WAIT_MS={w}" for w in args.fetch_waits)]
    print(table(header, [[m, *(c[i] for c in columns)] for i, m in enumerate(measures)]))


if __name__ == "__main__":
    main()
