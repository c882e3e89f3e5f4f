"""Hostile input at volume: good tweets mixed with every hostile class of tests/helpers/hostile.py,
through a stream worker and an inference worker on the embedded broker and the local
PostgreSQL; then fresh good threads, which must be annotated.

    .venv/bin/python -m bench.hostile_mix [--messages 10000] [--stream-workers 2] [--timezone Asia/Tokyo]

Every message must end stored, dropped by design (retweets, replies without content) or
dead-lettered: lost = sent - stored - dropped - dead-lettered must be 0, and no worker may
exit. (Ten 5 MB messages in the mix; the other classes share the rest.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from bench.common import machine, table
from bench.harness import bench_settings, fresh_database, replicate, source_posts
from tests.helpers.hostile import CLASSES
from tests.helpers.streaming import tweet
from threadtag.app import recipes
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import EmbeddedBroker, create_topics
from threadtag.core.settings import Settings
from threadtag.pipeline.normalize import Dropped, RawMessage, normalize

BIG = "a 5 MB message"


def mix(good: list[bytes], total: int) -> tuple[list[bytes], dict[str, int]]:
    """Half good tweets, half hostile ones (ten 5 MB messages), interleaved; messages per class."""
    out: list[bytes] = []
    per_class: dict[str, int] = {}
    others = [c for c in CLASSES if c.name != BIG]
    hostile_count = total - total // 2
    base = 5_000_000_000
    i = 0
    while sum(per_class.values()) < hostile_count:
        hostile = next(c for c in CLASSES if c.name == BIG) if i < 10 else others[i % len(others)]
        built = hostile.build(base + 10 * i)
        per_class[hostile.name] = per_class.get(hostile.name, 0) + len(built)
        out += built
        i += 1
    good = good[: total - len(out)]
    per_class["good tweets"] = len(good)
    mixed = []
    for k in range(max(len(out), len(good))):
        mixed += good[k : k + 1] + out[k : k + 1]
    return mixed, per_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--stream-workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--timezone", help="the database's TimeZone (default: the server's); the workers work in UTC")
    args = parser.parse_args()
    # One copy of each id: a duplicate is stored once, which the count below would call lost.
    unique = {json.loads(line).get("id_str"): line for line in source_posts()}
    good = replicate(list(unique.values()), args.messages)
    messages, per_class = mix(good, args.messages)
    dropped = sum(
        1 for m in messages if isinstance(normalize(RawMessage(m, None, "t", 0, 0), 0, 262_144, 1, 64), Dropped)
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    model = tmp / "sample.pt"
    recipes.train_sample_model(Settings(), model, progress=False)
    with EmbeddedBroker() as broker:
        settings = bench_settings(
            broker.bootstrap,
            tmp,
            database_url=fresh_database(args.timezone),
            model_path=model,
            orphan_ttl_seconds=5,
            conversation_close_seconds=5,
        ).namespaced(uuid.uuid4().hex[:6])
        create_topics(settings, broker.bootstrap)
        env = child_env(settings)
        workers = [CommandProcess(["stream"], env, tmp / f"stream{i}.log") for i in range(args.stream_workers)]
        workers.append(CommandProcess(["infer"], env, tmp / "infer.log"))
        for worker in workers:
            worker.start()
        engine = create_engine(settings.database_url or "")
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=8 << 20, linger_ms=5)
        started = time.time()
        for i, message in enumerate(messages):
            # A tombstone needs a key (kafka-python sends no record with neither); the rest go keyless.
            producer.send(settings.tweets_topic, key=None if message is not None else f"t{i}".encode(), value=message)
        producer.flush()

        def counts() -> tuple[int, int]:
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
                dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
            return int(stored), int(dead)

        deadline = started + args.timeout
        while sum(counts()) + dropped < len(messages) and time.time() < deadline:
            time.sleep(1)
        stored, dead = counts()
        settled = time.time() - started
        # Good threads after the storm: each must be annotated.
        after = [tweet(7_000_000 + r, None, r) for r in range(20)]
        after += [tweet(7_100_000 + r, 7_000_000 + r, 3, "what a great match that was") for r in range(20)]
        for message in after:
            producer.send(settings.tweets_topic, value=message)
        producer.flush()
        producer.close()
        query = text("SELECT count(DISTINCT root_id) FROM annotations WHERE root_id LIKE '70000%'")
        while time.time() < deadline + 120:
            with engine.connect() as conn:
                annotated = int(conn.execute(query).scalar_one())
            if annotated == 20:
                break
            time.sleep(1)
        exits = sum(1 for w in workers if w.process is not None and w.process.poll() is not None)
        for worker in workers:
            worker.stop()
        engine.dispose()
    print(f"machine: {machine()}")
    zone = args.timezone or "the server's"
    print(
        f"{args.stream_workers} stream workers, 1 inference worker; database TimeZone {zone}; logs in {tmp}; "
        f"settled in {settled:.0f} s\n"
    )
    print(table(["class", "messages sent"], sorted(per_class.items())))
    print()
    rows = [
        ["sent", len(messages)],
        ["stored (posts)", stored],
        ["dropped by design (retweets, replies without content)", dropped],
        ["dead-lettered", dead],
        ["lost (sent - stored - dropped - dead-lettered)", len(messages) - stored - dropped - dead],
        ["worker exits", exits],
        ["good threads sent afterwards / annotated", f"20 / {annotated}"],
    ]
    print(table(["outcome", "count"], rows))
    print(json.dumps({"stored": stored, "dead": dead, "dropped": dropped, "exits": exits}))


if __name__ == "__main__":
    main()
