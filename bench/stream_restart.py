"""Restart safety of a stream worker killed mid-backlog, on the embedded broker.

    .venv/bin/python -m bench.stream_restart [--runs 50] [--posts 3000] [--fetch-wait 100]

Each run, in a fresh namespace and database: --posts real thread posts (replicated with
offset ids) wait in the tweets topic; a stream worker starts, is SIGKILLed once it has
stored some of them (mid-backlog: batches in flight, offsets partly committed), and a new
one starts. Then every post must be stored with its root and counted once in its
conversation, every thread must have its requests, and no (root, seq) may name two
different cutoffs. The table counts the runs and posts that broke any of these.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import machine, table
from bench.harness import (
    bench_settings,
    count_records,
    expected_replies,
    fresh_database,
    produce_all,
    replicate,
    source_posts,
)
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import EmbeddedBroker, create_topics
from threadtag.core.settings import Settings
from threadtag.models.corpus import assemble_threads
from threadtag.pipeline.normalize import is_kept
from threadtag.schemas.posts import parse_post

DONE_WAIT_S = 120.0


def stored(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM posts")).scalar_one())


def expected_parked(lines: list[bytes]) -> int:
    """Kept posts outside every assembled thread: replies whose parent is not in the data,
    which wait parked (until ORPHAN_TTL_SECONDS)."""
    kept = {p.id: p for p in (parse_post(line, 1 << 30) for line in lines) if is_kept(p)}
    threaded = sum(1 + len(replies) for _, replies in assemble_threads(kept.values()))
    return len(kept) - threaded


def one_restart(base: Settings, lines: list[bytes], tmp: Path, rng: random.Random) -> dict[str, int]:
    settings = base.namespaced(uuid.uuid4().hex[:6]).model_copy(update={"database_url": fresh_database()})
    bootstrap = settings.kafka_bootstrap_servers or ""
    create_topics(settings, bootstrap)
    produce_all(bootstrap, settings.tweets_topic, lines)
    want = expected_replies(lines, settings)
    env = child_env(settings)
    log = tmp / f"{settings.stream_app_id}.log"
    engine = create_engine(settings.database_url or "")
    worker = CommandProcess(["stream"], env, log).start()
    kill_at = rng.randint(1, len(lines) // 2)  # stored posts at the kill
    deadline = time.monotonic() + 90
    while stored(engine) < kill_at and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.kill()
    at_kill = stored(engine)
    worker = CommandProcess(["stream"], env, log).start()
    query = text("SELECT root_id, n_replies, sent_seq FROM conversations WHERE root_arrived")
    deadline = time.monotonic() + DONE_WAIT_S
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                have = {root: (n, sent) for root, n, sent in conn.execute(query)}
            if all(have.get(root, (-1, 0))[0] == n and have[root][1] >= 1 for root, n in want.items()):
                break
            time.sleep(0.5)
    finally:
        worker.stop()
    cutoffs: dict[tuple[str, int], set[int]] = {}
    for value in count_records(bootstrap, settings.requests_topic):
        request = json.loads(value)
        cutoffs.setdefault((request["root_id"], request["seq"]), set()).add(request["cutoff"])
    requested = {root for root, _ in cutoffs}
    with engine.connect() as conn:
        parked = int(conn.execute(text("SELECT count(*) FROM posts WHERE root_id IS NULL")).scalar_one())
    engine.dispose()
    wrong = [root for root, n in want.items() if have.get(root, (-1, 0))[0] != n]
    return {
        "stored at kill": at_kill,
        "threads miscounted": len(wrong),
        "posts without their request": sum(1 + want[root] for root in want if root not in requested),
        "parked beyond the data's orphans": parked - expected_parked(lines),
        "conflicting requests": sum(1 for c in cutoffs.values() if len(c) > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--fetch-wait", type=int, default=100, help="STREAM_FETCH_MAX_WAIT_MS")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    lines = replicate(source_posts(), args.posts)
    rng = random.Random(args.seed)
    results = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        base = bench_settings(broker.bootstrap, Path(tmp), stream_fetch_max_wait_ms=args.fetch_wait)
        for run in range(args.runs):
            result = one_restart(base, lines, Path(tmp), rng)
            print(f"run {run + 1}: {result}", flush=True)
            results.append(result)
    print(f"\nmachine: {machine()}\n")
    bad = (
        "threads miscounted",
        "posts without their request",
        "parked beyond the data's orphans",
        "conflicting requests",
    )
    rows = [
        ["restarts (SIGKILL mid-backlog)", len(results)],
        ["posts per run", len(lines)],
        [
            "posts stored at the kill (min / max)",
            f"{min(r['stored at kill'] for r in results)} / {max(r['stored at kill'] for r in results)}",
        ],
        *([name, sum(r[name] for r in results)] for name in bad),
        ["runs with any of these", sum(1 for r in results if any(r[name] for name in bad))],
    ]
    print(table([f"STREAM_FETCH_MAX_WAIT_MS={args.fetch_wait}", "count"], rows))


if __name__ == "__main__":
    main()
