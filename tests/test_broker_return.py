"""The broker killed mid-stream and started again, empty, on the same port: the workers exit
with one line (for their supervisor), and once restarted they serve again with nothing lost
of what the database holds and nothing skipped of what comes next."""

from __future__ import annotations

import json
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


def test_workers_serve_again_after_the_broker_comes_back_empty(database_url, sample_model, tmp_path):
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
    workers = [stream_worker(env, tmp_path / "stream.log"), CommandProcess(["infer"], env, tmp_path / "infer.log")]
    try:
        for worker in workers:
            worker.start()
        replay(_copy(tmp_path, "5"), broker.bootstrap, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(lambda: count(roots.format("5")) == 24, 120, "the first copy annotated", tmp_path / "infer.log")
        broker.stop()  # all it held is gone: records, topics, committed offsets
        for worker, log in zip(workers, ("stream.log", "infer.log")):
            wait_for(lambda w=worker: w.process.poll() is not None, 60, "the worker's exit", tmp_path / log)
            assert worker.process.returncode == 3
            assert "the Kafka broker has not answered: exiting" in (tmp_path / log).read_text()
        broker = EmbeddedBroker(port).start()  # the same port, empty
        for worker in workers:  # the supervisor's restart (compose: restart: unless-stopped)
            worker.start()
        replay(_copy(tmp_path, "6"), broker.bootstrap, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(lambda: count(roots.format("6")) == 24, 60, "the second copy annotated after the return",
                 tmp_path / "infer.log")  # fmt: skip
    finally:
        for worker in workers:
            worker.stop()
        broker.stop()
    assert count("SELECT count(*) FROM posts WHERE id LIKE '5%' OR id LIKE '6%'") == 192  # nothing lost or skipped
    assert count(roots.format("5")) == 24  # what the database held before the outage is all there
    engine.dispose()
