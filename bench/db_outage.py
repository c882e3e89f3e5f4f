"""A long database outage in the middle of a replay: nothing lost, nothing doubled, and
every worker resumes by itself.

    .venv/bin/python -m bench.db_outage [--outage-seconds 600] [--rate 20] [--posts 6000]

Two stream workers and an inference worker reach PostgreSQL through a TCP proxy; real
threads (replicated with offset ids) are replayed at --rate posts/s; once a third of them
went out the proxy goes down for --outage-seconds (open connections cut, new ones
refused), then comes back. At the end every thread must be assembled exactly, every root
annotated, no request annotated twice by one model, and no worker restarted.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import machine, table
from bench.harness import bench_settings, expected_replies, fresh_database, paced, replicate, source_posts
from tests.helpers.tcp_proxy import TcpProxy
from threadtag.app import recipes
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import EmbeddedBroker, create_topics
from threadtag.core.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage-seconds", type=float, default=600)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--posts", type=int, default=6000)
    args = parser.parse_args()
    lines = replicate(source_posts(), args.posts)
    tmp = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    model = tmp / "sample.pt"
    recipes.train_sample_model(Settings(), model, progress=False)
    direct = fresh_database()
    proxy, through_proxy = TcpProxy.in_front_of(direct)
    with EmbeddedBroker() as broker:
        settings = bench_settings(
            broker.bootstrap,
            tmp,
            database_url=through_proxy,
            model_path=model,
            conversation_close_seconds=5,
            log_level="INFO",  # the retry lines in the logs are part of what it shows
        ).namespaced(uuid.uuid4().hex[:6])
        create_topics(settings, broker.bootstrap)
        env = child_env(settings)
        names = ["stream0", "stream1", "infer"]
        workers = [CommandProcess([n.rstrip("01")], env, tmp / f"{n}.log").start() for n in names]
        pids = [w.process.pid for w in workers if w.process]
        time.sleep(20)  # the groups joined
        outage: dict[str, float] = {}

        def cut() -> None:
            time.sleep(len(lines) / 3 / args.rate)
            proxy.down()
            outage["start"] = time.time()
            time.sleep(args.outage_seconds)
            proxy.up()
            outage["end"] = time.time()

        cutter = threading.Thread(target=cut)
        cutter.start()
        paced(broker.bootstrap, settings.tweets_topic, lines, args.rate)
        cutter.join()
        want = expected_replies(lines, settings)
        engine = create_engine(direct)
        conversations = text("SELECT root_id, n_replies FROM conversations WHERE root_arrived")
        annotated = text(
            "SELECT count(DISTINCT root_id), count(*), count(DISTINCT (root_id, request_seq)) FROM annotations"
        )
        deadline = time.time() + 600
        while time.time() < deadline:
            with engine.connect() as conn:
                have = dict(conn.execute(conversations).all())
                roots, rows, distinct = conn.execute(annotated).one()
            if all(have.get(r) == n for r, n in want.items()) and roots >= len(want):
                break
            time.sleep(2)
        recovered = time.time() - outage["end"]
        alive = [w.process is not None and w.process.poll() is None for w in workers]
        same = [w.process.pid for w in workers if w.process] == pids
        for worker in workers:
            worker.stop()
        engine.dispose()
    proxy.down()
    print(f"machine: {machine()}")
    print(
        f"{len(lines)} posts at {args.rate:g}/s, {len(want)} threads; outage of {args.outage_seconds:.0f} s; "
        f"logs in {tmp}\n"
    )
    rows = [
        ["threads assembled exactly", f"{sum(1 for r, n in want.items() if have.get(r) == n)} / {len(want)}"],
        ["roots annotated", f"{roots} / {len(want)}"],
        ["annotation rows / distinct (root, request)", f"{rows} / {distinct}"],
        ["workers alive at the end, never restarted", f"{sum(alive)} / {len(alive)}, {same}"],
        ["seconds from the database's return to all done", f"{recovered:.0f}"],
    ]
    print(table(["measure", "value"], rows))


if __name__ == "__main__":
    main()
