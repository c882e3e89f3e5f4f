"""Shuffled replays of the real threads into two stream workers: after each, exactly the
data's own orphans are parked and every root has exactly its replies (the race of a parked
reply's parent resolved by one worker while another parks its child).

    .venv/bin/python -m bench.shuffled_replays [--runs 20] [--duplicates 0.05]

Each run: a fresh database and topics on one embedded broker, the RumourEval threads of
../shared/data/tweets/ in a shuffled order (its own seed) with a share of them sent twice,
two `threadtag stream` workers. Expected from the data alone: the kept posts (retweets and
replies without content are dropped by design), the replies each root assembles, and the
orphans (replies whose chain never reaches a root in the file), which stay parked
(ORPHAN_TTL_SECONDS is an hour here).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from bench.common import machine, table
from bench.harness import TWEETS, bench_settings, fresh_database, source_posts, workers
from threadtag.core.broker import EmbeddedBroker, create_topics
from threadtag.pipeline.normalize import is_kept, replies_per_root
from threadtag.schemas.posts import parse_post


def expected(lines: list[bytes]) -> tuple[int, dict[str, int]]:
    """(posts the stream keeps, root id -> its replies) of the data."""
    posts = {p.id: p for p in (parse_post(line, len(line)) for line in lines) if is_kept(p)}
    return len(posts), replies_per_root(posts.values())


def one_run(broker: EmbeddedBroker, lines: list[bytes], seed: int, share: float, tmp: Path) -> dict[str, object]:
    kept, replies = expected(lines)
    rng = random.Random(seed)
    sent = lines + rng.sample(lines, int(share * len(lines)))
    rng.shuffle(sent)
    database = fresh_database()
    settings = bench_settings(broker.bootstrap, tmp, database_url=database, orphan_ttl_seconds=3600).namespaced(
        uuid.uuid4().hex[:6]
    )
    create_topics(settings, broker.bootstrap)
    running = workers(settings, 2, tmp)
    engine = create_engine(database)
    orphans = kept - len(replies) - sum(replies.values())
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    for line in sent:
        producer.send(settings.tweets_topic, value=line)
    producer.flush()
    producer.close()
    query = text("SELECT count(*), count(*) FILTER (WHERE root_id IS NULL) FROM posts")
    started, stored, parked = time.monotonic(), 0, 0
    try:
        while time.monotonic() - started < 180:
            time.sleep(1)
            with engine.connect() as conn:
                try:
                    stored, parked = conn.execute(query).one()
                except Exception:  # noqa: BLE001 - before the workers migrated
                    continue
            if stored == kept and parked == orphans:
                time.sleep(3)  # settled: nothing may move after this
                with engine.connect() as conn:
                    stored, parked = conn.execute(query).one()
                break
    finally:
        for worker in running:
            worker.stop()
    with engine.connect() as conn:
        counted = dict(conn.execute(text("SELECT root_id, n_replies FROM conversations WHERE root_arrived")).all())
    engine.dispose()
    wrong = sum(counted.get(root, 0) != n for root, n in replies.items())
    return {
        "seed": seed,
        "sent": len(sent),
        "stored": stored,
        "kept": kept,
        "parked": parked,
        "orphans": orphans,
        "wrong_roots": wrong,
        "ok": stored == kept and parked == orphans and wrong == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of the records sent twice")
    args = parser.parse_args()
    if not TWEETS.exists():
        raise SystemExit(f"needs the real threads at {TWEETS}")
    lines = source_posts(TWEETS)
    tmp = Path(tempfile.mkdtemp(prefix="bench-shuffled-"))
    rows = []
    with EmbeddedBroker() as broker:
        for seed in range(args.runs):
            result = one_run(broker, lines, seed, args.duplicates, tmp)
            rows.append(
                [result[k] for k in ("seed", "sent", "kept", "stored", "orphans", "parked", "wrong_roots", "ok")]
            )
            print(*rows[-1], flush=True)
    print(f"machine: {machine()}")
    print(f"{len(lines)} real tweets, {args.duplicates:.0%} sent twice, 2 stream workers a run; logs in {tmp}")
    header = [
        "seed",
        "records sent",
        "posts kept",
        "stored",
        "orphans in the data",
        "parked",
        "roots miscounted",
        "exact",
    ]
    print(table(header, rows))
    print(f"exact: {sum(r[-1] is True for r in rows)} of {len(rows)}")


if __name__ == "__main__":
    main()
