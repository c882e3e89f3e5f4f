"""Restart safety of a stream worker with a backlog, per fetch wait, on the embedded broker.

    .venv/bin/python -m bench.stream_restart [--runs 20] [--posts 30] [--fetch-waits 1500 100]

Each run, in a fresh namespace: a stream worker starts; `--posts` root posts are sent and the
worker is SIGKILLed 0.3 s later (mid-batch, little or nothing committed); `--posts` more are
sent while it is down; a new worker starts. Every root must then get its arrival request. A
run where some root has none 45 s after the restart lost those posts: faust delivers records
while it seeks the restored worker's partitions to their committed offsets, and a record
fetched in that window can be skipped (and its offset committed past). The table counts such
runs per STREAM_FETCH_MAX_WAIT_MS.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from threadtag.pipeline.broker import EmbeddedBroker
from threadtag.pipeline.topology import create_topics

from bench.common import machine, table
from bench.stream_throughput import consumer_for, generated_stream, send_all
from threadtag.processes import CommandProcess, child_env
from threadtag.settings import Settings

RESTART_WAIT_S = 45.0


def arrived_roots(bootstrap: str, topic: str) -> set[str]:
    consumer = consumer_for(bootstrap, topic)
    end = consumer.end_offsets(list(consumer.assignment()))
    roots: set[str] = set()
    while any(consumer.position(tp) < offset for tp, offset in end.items()):
        for records in consumer.poll(timeout_ms=500).values():
            roots.update(json.loads(r.value)["root_id"] for r in records)
    consumer.close()
    return roots


def wait_for_ready(log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while "Worker ready" not in (log.read_text() if log.exists() else ""):
        if time.monotonic() > deadline:
            raise RuntimeError(f"stream worker not ready; see {log}")
        time.sleep(0.2)


def one_restart(base: Settings, bootstrap: str, posts: list[bytes], tmp: Path) -> int:
    """Posts (roots) without an arrival request after the restart."""
    settings = base.namespaced(uuid.uuid4().hex[:6])
    create_topics(settings, bootstrap)
    env = child_env(settings)
    log = tmp / f"{settings.stream_app_id}.log"
    half = len(posts) // 2
    worker = CommandProcess(["stream"], env, log).start()
    wait_for_ready(log)
    send_all(bootstrap, settings.tweets_topic, posts[:half], None)
    time.sleep(0.3)
    worker.kill()
    send_all(bootstrap, settings.tweets_topic, posts[half:], None)
    worker = CommandProcess(["stream"], env, log).start()
    want = {json.loads(p)["id_str"] for p in posts}
    deadline = time.monotonic() + RESTART_WAIT_S
    try:
        while not want <= (have := arrived_roots(bootstrap, settings.requests_topic)) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.stop()
    return len(want - have)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="restarts per fetch wait")
    parser.add_argument("--posts", type=int, default=30, help="roots sent before the kill, and again while down")
    parser.add_argument("--fetch-waits", type=int, nargs="+", default=[1500, 100])
    args = parser.parse_args()
    posts = generated_stream(threads=2 * args.posts, replies=0)
    rows = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        for wait in args.fetch_waits:
            base = Settings(
                kafka_bootstrap_servers=broker.bootstrap,
                kafka_producer_max_batch_bytes=1,  # one record per batch, as the embedded broker needs
                kafka_session_timeout_s=6,
                kafka_heartbeat_interval_s=1,
                stream_data_dir=Path(tmp) / "stream",
                stream_fetch_max_wait_ms=wait,
                metrics_port=0,
            )
            lost = [one_restart(base, broker.bootstrap, posts, Path(tmp)) for _ in range(args.runs)]
            print(f"STREAM_FETCH_MAX_WAIT_MS={wait}: posts lost per restart {lost}", flush=True)
            rows.append([wait, args.runs, sum(1 for n in lost if n), sum(lost), len(posts) * args.runs])
    print(f"\nmachine: {machine()}\n")
    header = ["STREAM_FETCH_MAX_WAIT_MS", "restarts", "restarts that lost posts", "posts lost", "posts sent"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
