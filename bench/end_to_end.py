"""End to end: Weibo threads replayed into one stream worker and one inference worker with a
paper-size model, from the first record sent to every thread's final annotation.

    .venv/bin/python -m bench.end_to_end --model runs/weibo-hybrid-s13.pt [--threads 4013] [--reply-words 15]
        [--producer-batch-bytes N] [--save finals.json] [--compare other-finals.json]

Each Weibo line becomes a root tweet with its conversation cut into replies of 15 words
(pipeline/weibo_tweets.py), replayed as fast as the broker takes them, batched as `threadtag
replay --fast` sends (KAFKA_PRODUCER_MAX_BATCH_BYTES; --producer-batch-bytes 1 sends a record
a produce request, as this bench did before 2026-12-06: the replay alone then took about 24 s of
a 51 s run here) (embedded broker,
fresh database on the local PostgreSQL, CONVERSATION_CLOSE_SECONDS=10,
ANNOTATE_QUIET_SECONDS=2, the live index refreshed every 5 s unless
--index-refresh-seconds says otherwise). Printed: seconds to every final annotation,
raw posts/s over that time, the consume-only baseline (a plain kafka-python loop over the
same records, same run), requests, annotation rows and model runs (inputs beam search
decoded) per thread. --save writes each root's final top 5; --compare counts the roots
whose final top 5 equals another run's.

The workers are started and warmed first, as in a running deployment: one unlabelled thread of
its own is sent and the clock starts once its final annotation is written (--cold starts it
at the workers' launch instead, so that their start-up, about 10 s here, is counted too).

The workers are `python -m threadtag.cli` of the interpreter running this: run it from this
directory with another checkout's venv python to measure that checkout's code.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, TextClause, text

from bench.common import FIRST_ID, WEIBO, machine, table
from bench.harness import bench_settings, consume_only, drop_database, model_runs, serving_database, stream_and_infer
from threadtag.core.broker import EmbeddedBroker
from threadtag.core.settings import Settings
from threadtag.models.corpus import weibo_lines
from threadtag.pipeline.replay import replay
from threadtag.pipeline.weibo_tweets import ROOT_STRIDE, root_id, weibo_tweets

# Each root's final answer: the row marked final (code with annotations.final), else the
# row of the conversation's last request once it closed (the code before it).
_FINALS = {
    True: """SELECT DISTINCT ON (a.root_id) a.root_id, a.hashtags FROM annotations a
             JOIN conversations c ON c.root_id = a.root_id
             WHERE a.final AND c.closed_at IS NOT NULL ORDER BY a.root_id, a.request_seq DESC""",
    False: """SELECT a.root_id, a.hashtags FROM annotations a JOIN conversations c
              ON c.root_id = a.root_id AND a.request_seq = c.last_seq WHERE c.closed_at IS NOT NULL""",
}


def _has_final_column(engine: Engine) -> bool:
    query = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'annotations' AND column_name = 'final'"
    with engine.connect() as conn:
        return bool(conn.execute(text(query)).scalar())


@dataclass
class Run:
    seconds: float  # first record sent -> every thread's final annotation written
    posts: int
    baseline: float  # consume-only posts/s
    asked: int  # requests the stream made
    requests: int  # requests the inference worker annotated
    rows: int
    decoded: int  # inputs beam search ran on
    top5: dict[str, list[str]]


# An unlabelled thread of the bench's own: the live index learns nothing from it.
WARM_UP = ("热身 的 帖子", "第一 条 回复", "")
WARM_UP_FIRST_ID = FIRST_ID - ROOT_STRIDE  # below every measured thread's ids
WARM_UP_ID = root_id(WARM_UP_FIRST_ID, 0)


def _jsonl(path: Path, tweets: list[str]) -> Path:
    path.write_text("\n".join(tweets) + "\n", encoding="utf-8")
    return path


def _await_finals(engine: Engine, count: TextClause, want: int, timeout_s: float, poll_s: float, tmp: Path) -> None:
    """Poll `count` (final annotations, `:root` bound to the warm-up's id) until it reaches `want`."""
    deadline = time.monotonic() + timeout_s
    while True:
        with engine.connect() as conn:
            done = conn.execute(count, {"root": WARM_UP_ID}).scalar() or 0
        if done >= want:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{want - done} threads without a final annotation after {timeout_s:.0f} s; see {tmp}")
        time.sleep(poll_s)


def _warm_up(engine: Engine, finals: str, bootstrap: str, settings: Settings, tmp: Path) -> None:
    """One thread through both workers, until its final annotation is written."""
    source = _jsonl(tmp / "warm_up.jsonl", list(weibo_tweets([WARM_UP], WARM_UP_FIRST_ID, None)))
    replay(source, bootstrap, settings.tweets_topic, None, settings.max_message_bytes, 1, False)
    _await_finals(engine, text(f"SELECT count(*) FROM ({finals}) f WHERE f.root_id = :root"), 1, 300, 0.2, tmp)


def run(
    model: Path,
    lines: list[tuple[str, str, str]],
    reply_words: int,
    refresh: float,
    cold: bool,
    batch_bytes: int | None,
    tmp: Path,
) -> Run:
    tweets = list(weibo_tweets(lines, FIRST_ID, reply_words))
    source = _jsonl(tmp / "threads.jsonl", tweets)
    database, engine = serving_database(model)
    with EmbeddedBroker() as broker:
        settings = bench_settings(
            broker.bootstrap,
            tmp,
            database_url=database,
            model_path=model,
            conversation_close_seconds=10,
            annotate_quiet_seconds=2,
            index_refresh_seconds=refresh,
            log_level="INFO",
            log_format="json",
        ).namespaced(uuid.uuid4().hex[:6])
        baseline = consume_only(broker.bootstrap, [t.encode() for t in tweets], settings.kafka_partitions)
        finals = _FINALS[_has_final_column(engine)]
        measured = text(f"SELECT count(*) FROM ({finals}) f WHERE f.root_id <> :root")
        with stream_and_infer(settings, broker.bootstrap, tmp) as infer_log:
            if not cold:
                _warm_up(engine, finals, broker.bootstrap, settings, tmp)
            logged = infer_log.stat().st_size if infer_log.exists() else 0
            started = time.monotonic()
            batch = settings.kafka_producer_max_batch_bytes if batch_bytes is None else batch_bytes
            replay(source, broker.bootstrap, settings.tweets_topic, None, settings.max_message_bytes, batch, False)
            _await_finals(engine, measured, len(lines), 3600, 0.5, tmp)
            seconds = time.monotonic() - started
    others = {"root": WARM_UP_ID}
    with engine.connect() as conn:
        top5 = {root: [h["tag"] for h in tags] for root, tags in conn.execute(text(finals)) if root != WARM_UP_ID}
        rows = conn.execute(text("SELECT count(*) FROM annotations WHERE root_id <> :root"), others).scalar() or 0
        asked = (
            conn.execute(
                text("SELECT coalesce(sum(last_seq), 0) FROM conversations WHERE root_id <> :root"), others
            ).scalar()
            or 0
        )
    engine.dispose()
    drop_database(database)
    requests, decoded = model_runs(infer_log, logged)
    return Run(seconds, len(tweets), baseline, asked, requests, rows, decoded, top5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=4013)
    parser.add_argument("--reply-words", type=int, default=15)
    parser.add_argument(
        "--index-refresh-seconds",
        type=float,
        default=5.0,
        help="INDEX_REFRESH_SECONDS; 0 turns the live index off, so that an answer depends on its input only",
    )
    parser.add_argument(
        "--producer-batch-bytes",
        type=int,
        help="the replay's producer batch size; default KAFKA_PRODUCER_MAX_BATCH_BYTES (unset: the client's), as "
        "`threadtag replay`; 1 = a record a produce request",
    )
    parser.add_argument("--cold", action="store_true", help="start the clock at the workers' launch (no warm-up)")
    parser.add_argument("--save", type=Path, help="write each root's final top 5 here (JSON)")
    parser.add_argument("--compare", type=Path, help="another run's --save file: roots with the same final top 5")
    args = parser.parse_args()
    lines = weibo_lines(WEIBO)[: args.threads]
    tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    batch = args.producer_batch_bytes
    result = run(args.model, lines, args.reply_words, args.index_refresh_seconds, args.cold, batch, tmp)
    if args.save:
        args.save.write_text(json.dumps(result.top5, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    per_thread = len(lines)
    clock = "the workers' launch" if args.cold else "warm workers"
    print(f"machine: {machine()}")
    print(
        f"model: {args.model}; {per_thread} Weibo threads, {result.posts} raw posts, "
        f"replies of {args.reply_words} words, INDEX_REFRESH_SECONDS={args.index_refresh_seconds:g}, "
        f"producer batch {args.producer_batch_bytes or 'default'}, clock from {clock}"
    )
    rows = [
        ["s to every final annotation", f"{result.seconds:.1f}"],
        ["raw posts/s end to end", f"{result.posts / result.seconds:.0f}"],
        ["consume-only baseline, posts/s", f"{result.baseline:.0f}"],
        [
            "requests per thread made / annotated",
            f"{result.asked / per_thread:.2f} / {result.requests / per_thread:.2f}",
        ],
        ["annotation rows per thread", f"{result.rows / per_thread:.2f}"],
        ["model runs per thread", f"{result.decoded / per_thread:.2f}"],
    ]
    if args.compare:
        other = json.loads(args.compare.read_text(encoding="utf-8"))
        same = sum(other.get(root) == tags for root, tags in result.top5.items())
        rows.append([f"final top 5 equal to {args.compare.name}'s", f"{same} of {len(result.top5)} roots"])
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
