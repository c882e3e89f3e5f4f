"""LOG_FORMAT=json: every line a worker writes to stderr is one JSON object, its own lines
and those of faust, aiokafka, kafka-python and alembic alike (log shippers parse them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.streaming import produce, stream_env, tweet, wait_for

pytestmark = pytest.mark.slow


def test_a_stream_worker_logs_only_json_lines(broker: str, database_url: str, tmp_path: Path):
    env = {**os.environ, **stream_env(broker, tmp_path, database_url), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
           "PROGRESS_LOG_SECONDS": "0.2"}  # fmt: skip
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "threadtag.cli", "stream"], env=env, stdout=subprocess.PIPE, stderr=stderr,
            text=True,
        )  # fmt: skip
    try:
        produce(broker, env["TWEETS_TOPIC"], [(0, None, b"not a tweet"), (0, None, tweet(1, None, 0))])
        wait_for(lambda: "dead letters sent" in log.read_text(), 60, "the worker's line for the bad record", log)
        wait_for(lambda: "stream worker progress" in log.read_text(), 60, "a progress line", log)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    err = log.read_text()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) >= 3, err
    for line in lines:
        record = json.loads(line)  # raises on a plain-text line
        assert "event" in record and "level" in record, line
    assert any(json.loads(line).get("logger", "").startswith(("faust", "aiokafka", "mode")) for line in lines), err
    # Our own lines still come once faust runs (it would wrap stderr and swallow them).
    assert any(json.loads(line)["event"] == "dead letters sent" for line in lines), err
    events = {json.loads(line)["event"]: json.loads(line) for line in lines}
    assert events["stream worker progress"]["posts"] >= 1 and "lag" in events["stream worker progress"], err
    stopped = events["stream worker stopped"]  # the shutdown line, with the totals
    assert stopped["posts"] == 1 and stopped["dead_letters"] == 1, err
    assert not out.strip(), out  # nothing on stdout either


def test_replay_under_json_logs_writes_only_json_lines(broker: str, tmp_path: Path):
    from tests.helpers.paths import SAMPLE_THREADS
    from threadtag.core.broker import ensure_topics

    ensure_topics(broker, ["json-replay"], 1, 1)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [sys.executable, "-m", "threadtag.cli", "replay", str(SAMPLE_THREADS), "--fast", "--topic", "json-replay"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for line in result.stderr.splitlines():
        json.loads(line)  # a progress bar here would not parse
    assert "replayed 96 posts" in result.stdout
