"""A broker partition: the workers' memory while the broker is unreachable but connections
still open (a black hole, as a dropped route does), and whether they serve again after it.

    .venv/bin/python -m bench.broker_partition [--partition-seconds 180] [--every 5]

The embedded broker advertises a TCP proxy in front of it, so every client connection goes
through the proxy. The real threads are replayed and annotated by one stream and one
inference worker, run as a supervisor runs them (a worker that exits is started again
after --restart-delay seconds, as compose's `restart` does); then the proxy swallows every
byte, both ways, for --partition-seconds (new connections are taken and swallowed too);
then the partition heals (the broken connections are cut), a second copy of the threads
is replayed, and the bench waits for both copies to be assembled exactly and annotated.
Prints each worker's resident memory (VmRSS) before, at its peak during and after the
partition, and how often it was started again.
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
from bench.harness import bench_settings, expected_replies, fresh_database, produce_all, replicate, source_posts
from tests.helpers.tcp_proxy import TcpProxy
from threadtag.app import recipes
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import EmbeddedBroker, create_topics, free_port
from threadtag.core.settings import Settings


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS), MiB; NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            kib = next(line.split()[1] for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return float("nan")
    return int(kib) / 1024


def wait_until_done(database: str, want: dict[str, int], timeout: float) -> tuple[int, int]:
    """Poll until every root of `want` has its reply count and an annotation; (assembled
    exactly, roots annotated)."""
    engine = create_engine(database)
    conversations = text("SELECT root_id, n_replies FROM conversations WHERE root_arrived")
    annotated = text("SELECT root_id FROM annotations")
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            have = dict(conn.execute(conversations).all())
            roots = {r for (r,) in conn.execute(annotated)}
        exact = sum(1 for r, n in want.items() if have.get(r) == n)
        done = len(want.keys() & roots)
        if (exact == len(want) and done == len(want)) or time.monotonic() > deadline:
            engine.dispose()
            return exact, done
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partition-seconds", type=float, default=180)
    parser.add_argument("--every", type=float, default=5, help="seconds between memory samples")
    parser.add_argument("--restart-delay", type=float, default=5)
    args = parser.parse_args()
    first = source_posts()
    second = replicate(first, 2 * len(first))[len(first) :]  # the same threads under other ids
    tmp = Path(tempfile.mkdtemp(prefix="bench-partition-"))
    model = tmp / "sample.pt"
    recipes.train_sample_model(Settings(), model, progress=False)
    database = fresh_database()
    broker_port = free_port()
    proxy = TcpProxy(broker_port)
    proxy.up()
    with EmbeddedBroker(broker_port, advertised_port=proxy.port) as broker:
        bootstrap = f"127.0.0.1:{proxy.port}"
        settings = bench_settings(
            bootstrap, tmp, database_url=database, model_path=model, conversation_close_seconds=5, log_level="INFO"
        ).namespaced(uuid.uuid4().hex[:6])
        create_topics(settings, broker.bootstrap)
        env = child_env(settings)
        workers = {name: CommandProcess([name], env, tmp / f"{name}.log").start() for name in ("stream", "infer")}
        restarts = dict.fromkeys(workers, 0)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in workers}
        done = threading.Event()

        def supervise() -> None:
            """Sample each worker's memory; start one that exited again, as a supervisor would."""
            while not done.wait(args.every):
                for name, worker in workers.items():
                    assert worker.process is not None
                    if worker.process.poll() is None:
                        samples[name].append((time.monotonic(), rss_mib(worker.process.pid)))
                        continue
                    time.sleep(args.restart_delay)
                    restarts[name] += 1
                    worker.start()

        supervisor = threading.Thread(target=supervise, daemon=True)
        supervisor.start()
        produce_all(bootstrap, settings.tweets_topic, first)
        want_first = expected_replies(first, settings)
        settled = wait_until_done(database, want_first, 300)
        before = {name: samples[name][-1][1] for name in workers}
        proxy.black_hole()
        cut = time.monotonic()
        time.sleep(args.partition_seconds)
        proxy.heal()
        healed = time.monotonic()
        produce_all(bootstrap, settings.tweets_topic, second)
        want_both = {**want_first, **expected_replies(second, settings)}
        exact, annotated = wait_until_done(database, want_both, 300)
        recovered = time.monotonic() - healed
        time.sleep(2 * args.every)
        done.set()
        supervisor.join()
        after = {name: samples[name][-1][1] for name in workers}
        for worker in workers.values():
            worker.stop()
    proxy.down()
    print(f"machine: {machine()}")
    print(
        f"{len(first)} + {len(second)} tweets, {len(want_both)} threads; partition {args.partition_seconds:.0f} s; "
        f"first copy settled {settled}; logs in {tmp}\n"
    )
    rows = []
    for name in workers:
        during = [mib for at, mib in samples[name] if cut <= at <= healed]
        peak = max(during, default=float("nan"))
        rows.append([name, f"{before[name]:.0f}", f"{peak:.0f}", f"{after[name]:.0f}", restarts[name]])
    print(table(["worker", "RSS before, MiB", "peak during the partition", "after", "started again"], rows))
    print()
    print(
        table(
            ["measure", "value"],
            [
                ["threads assembled exactly (both copies)", f"{exact} / {len(want_both)}"],
                ["roots annotated (both copies)", f"{annotated} / {len(want_both)}"],
                ["seconds from the heal to all done", f"{recovered:.0f}"],
            ],
        )
    )
    for name in workers:
        print(
            f"\n{name} RSS, MiB, by seconds from the cut:",
            " ".join(f"{at - cut:.0f}:{mib:.0f}" for at, mib in samples[name]),
        )


if __name__ == "__main__":
    main()
