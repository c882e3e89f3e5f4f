"""The broker killed mid-stream and started again, empty, on the same port, with no
supervisor: each worker starts afresh by itself (the same process, replaced), and serves
again with nothing lost of what the database holds and nothing skipped of what comes next,
whether the broker came back at once or after the workers noticed it gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import SAMPLE_THREADS
from tests.helpers.streaming import stream_env, stream_worker, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.core.broker import EmbeddedBroker, free_port
from threadtag.pipeline.replay import replay

pytestmark = pytest.mark.slow


def _copy(tmp_path: Path, prefix: str) -> Path:
    """The sample threads under new ids."""
    out = tmp_path / f"copy-{prefix}.jsonl"
    lines = []
    for line in SAMPLE_THREADS.read_text().splitlines():
        tweet = json.loads(line)
        tweet["id_str"] = prefix + tweet["id_str"]
        if tweet["in_reply_to_status_id_str"]:
            tweet["in_reply_to_status_id_str"] = prefix + tweet["in_reply_to_status_id_str"]
        lines.append(json.dumps(tweet))
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("away_seconds", [0, 6])
def test_workers_serve_again_after_the_broker_comes_back_empty(database_url, sample_model, tmp_path, away_seconds):
    port = free_port()
    broker = EmbeddedBroker(port).start()
    env = stream_env(broker.bootstrap, tmp_path, database_url, broker_lost_exit_seconds=3, conversation_close_seconds=2)
    env.update({"MODEL_PATH": str(sample_model), "INFER_BATCH_WAIT_MS": "100"})
    engine = create_engine(database_url)

    def count(query: str) -> int:
        with engine.connect() as conn:
            try:
                return int(conn.execute(text(query)).scalar() or 0)
            except Exception:  # noqa: BLE001 - before the workers migrated
                return 0

    roots = "SELECT count(DISTINCT root_id) FROM annotations WHERE root_id LIKE '{}%' AND n_replies = 3"
    logs = [tmp_path / "stream.log", tmp_path / "infer.log"]
    workers = [stream_worker(env, logs[0]), CommandProcess(["infer"], env, logs[1])]
    try:
        for worker in workers:
            worker.start()
        pids = [worker.process.pid for worker in workers if worker.process]
        replay(_copy(tmp_path, "5"), broker.bootstrap, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(lambda: count(roots.format("5")) == 24, 120, "the first copy annotated", logs[1])
        broker.stop()  # all it held is gone: records, topics, committed offsets
        time.sleep(away_seconds)
        broker = EmbeddedBroker(port).start()  # the same port, empty; nobody restarts the workers
        replay(_copy(tmp_path, "6"), broker.bootstrap, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(lambda: count(roots.format("6")) == 24, 60, "the second copy annotated after the return", logs[1])
        alive = [worker.process is not None and worker.process.poll() is None for worker in workers]
        assert [worker.process.pid for worker in workers if worker.process] == pids
    finally:
        for worker in workers:
            worker.stop()
        broker.stop()
    assert alive == [True, True]
    if away_seconds:  # both noticed the broker gone, and said so
        assert all("the Kafka broker has not answered: starting afresh" in log.read_text() for log in logs)
    assert count("SELECT count(*) FROM posts WHERE id LIKE '5%' OR id LIKE '6%'") == 192  # nothing lost or skipped
    assert count(roots.format("5")) == 24  # what the database held before the outage is all there
    engine.dispose()
