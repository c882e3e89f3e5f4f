"""One thread of 5,000 replies through stream + infer: what a request reads and how often the
model runs, however long the thread grows.

    .venv/bin/python -m bench.long_thread --model runs/weibo-hybrid-s13.pt [--replies 5000] [--burst 25]

A Weibo dev post (its gold hashtags at its end) is the root; the conversations of the
Weibo lines, one after another, are cut into replies of 15 words (pipeline/weibo_tweets.py)
until there are --replies of them. The root is sent, then the replies in bursts of --burst
with --gap seconds between bursts (longer than ANNOTATE_QUIET_SECONDS, so each burst may
earn a growth request), into one `threadtag stream` and one `threadtag infer` (embedded
broker, fresh database on the local PostgreSQL, live index off). Printed: requests the
stream made, annotation rows, the replies each annotation read (its `n_replies`: rows read
per request, beside the root), inputs beam search decoded, and the seconds from the last
reply sent to the final annotation.

The workers are `python -m threadtag.cli` of the interpreter running this: run it from
another checkout with that checkout's venv python to measure its code in the same sitting.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import text

from bench.common import WEIBO, machine, table
from bench.harness import bench_settings, model_runs, serving_database, stream_and_infer
from threadtag.core.broker import EmbeddedBroker
from threadtag.models.corpus import weibo_lines
from threadtag.pipeline.weibo_tweets import weibo_tweets

REPLY_WORDS = 15


def thread_tweets(replies: int) -> list[str]:
    """The root (the last Weibo line, a dev post) and `replies` replies cut from the lines' conversations."""
    lines = weibo_lines(WEIBO)
    post, _, tags = lines[-1]
    words: list[str] = []
    for _, conv, _ in lines:
        words += conv.split()
        if len(words) >= replies * REPLY_WORDS:
            break
    return list(weibo_tweets([(post, " ".join(words), tags)], reply_words=REPLY_WORDS))[: replies + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--replies", type=int, default=5_000)
    parser.add_argument("--burst", type=int, default=25, help="replies sent together")
    parser.add_argument("--gap", type=float, default=0.6, help="seconds between bursts")
    args = parser.parse_args()
    tweets = thread_tweets(args.replies)
    root = tweets[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-long-thread-"))
    database, engine = serving_database(args.model)
    with EmbeddedBroker() as broker:
        settings = bench_settings(
            broker.bootstrap,
            tmp,
            database_url=database,
            model_path=args.model,
            conversation_close_seconds=5,
            annotate_quiet_seconds=0.3,
            annotate_every_replies=5,
            index_refresh_seconds=0,
            log_level="INFO",
            log_format="json",
        ).namespaced(uuid.uuid4().hex[:6])
        with stream_and_infer(settings, broker.bootstrap, tmp) as infer_log:
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
            try:
                producer.send(settings.tweets_topic, key=b"thread", value=root.encode()).get(timeout=30)
                time.sleep(args.gap)
                replies = tweets[1:]
                for start in range(0, len(replies), args.burst):
                    for reply in replies[start : start + args.burst]:
                        producer.send(settings.tweets_topic, key=b"thread", value=reply.encode())
                    producer.flush()
                    time.sleep(args.gap)
                last_sent = time.monotonic()
                final = text("SELECT count(*) FROM annotations WHERE final AND n_replies >= :n")
                while True:
                    with engine.connect() as conn:
                        stored = conn.execute(text("SELECT count(*) FROM posts")).scalar() or 0
                        done = stored == len(tweets) and (conn.execute(final, {"n": 1}).scalar() or 0) > 0
                        closed = conn.execute(text("SELECT count(*) FROM conversations WHERE closed_at IS NOT NULL"))
                        done = done and (closed.scalar() or 0) > 0
                    if done:
                        break
                    if time.monotonic() - last_sent > 900:
                        raise TimeoutError(f"no final annotation 15 min after the last reply; see {tmp}")
                    time.sleep(0.5)
                settled = time.monotonic() - last_sent
            finally:
                producer.close()
    with engine.connect() as conn:
        asked = conn.execute(text("SELECT last_seq FROM conversations")).scalar() or 0
        read = [n for (n,) in conn.execute(text("SELECT n_replies FROM annotations ORDER BY request_seq"))]
    engine.dispose()
    requests, decoded = model_runs(infer_log)
    print(f"machine: {machine()}")
    print(
        f"model: {args.model}; one thread of {args.replies} replies of {REPLY_WORDS} words, bursts of "
        f"{args.burst} every {args.gap:g} s, ANNOTATE_EVERY_REPLIES=5, ANNOTATE_QUIET_SECONDS=0.3"
    )
    print(
        table(
            ["measure", "value"],
            [
                ["requests the stream made", asked],
                ["requests annotated / annotation rows", f"{requests} / {len(read)}"],
                ["replies read per annotation row: max / mean", f"{max(read)} / {sum(read) / len(read):.0f}"],
                ["replies read by all rows together", sum(read)],
                ["inputs beam search decoded (model runs)", decoded],
                ["s from the last reply sent to the final annotation", f"{settled:.1f}"],
            ],
        )
    )


if __name__ == "__main__":
    main()
