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


def progress_posts(log: Path) -> int:
    """Posts counted by the progress lines written so far (lines still being written skipped)."""
    records = []
    for line in log.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return sum(r.get("posts", 0) for r in records if r.get("event") == "stream worker progress")


def test_a_stream_worker_logs_only_json_lines(broker: str, database_url: str, tmp_path: Path):
    env = {
        **os.environ,
        **stream_env(broker, tmp_path, database_url),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PROGRESS_LOG_SECONDS": "0.2",
    }
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "threadtag.cli", "stream"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        produce(broker, env["TWEETS_TOPIC"], [(0, None, b"not a tweet"), (0, None, tweet(1, None, 0))])
        wait_for(lambda: "dead letters sent" in log.read_text(), 60, "the worker's line for the bad record", log)
        # The bad record and the tweet may come in two batches, each with its own line.
        wait_for(lambda: progress_posts(log) >= 1, 60, "a progress line that counts the post", log)
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
    # The progress lines, whichever batch each covered, counted the one post once.
    assert progress_posts(log) == 1 and "lag" in events["stream worker progress"], err
    assert events["stream worker starting"]["event_loop"] == "uvloop", err  # STREAM_EVENT_LOOP's default took
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
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for line in result.stderr.splitlines():
        json.loads(line)  # a progress bar here would not parse
    assert "replayed 96 posts" in result.stdout


def _only_json(stderr: str) -> list[dict]:  # type: ignore[type-arg]
    lines = [line for line in stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on a plain-text line (a bar, a traceback)
    assert all("event" in r and "level" in r for r in records), stderr
    return records


def test_infer_retrain_and_run_under_json_logs_write_only_json_lines(
    broker: str, database_url: str, sample_model: Path, tmp_path: Path
):
    from sqlalchemy import create_engine

    from tests.helpers.paths import ROOT, SAMPLE_THREADS
    from tests.helpers.streaming import store_threads
    from threadtag.app.schema import migrate
    from threadtag.schemas.events import AnnotationRequest

    json_env = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    env = {**os.environ, **stream_env(broker, tmp_path, database_url), **json_env, "MODEL_PATH": str(sample_model)}
    migrate(database_url)
    engine = create_engine(database_url)
    copy = tmp_path / "copy.jsonl"  # the sample again under new ids, reworded: new data to retrain on
    lines = []
    for line in SAMPLE_THREADS.read_text().splitlines():
        tweet = json.loads(line)
        tweet["id_str"] = "8" + tweet["id_str"]
        if tweet["in_reply_to_status_id_str"]:
            tweet["in_reply_to_status_id_str"] = "8" + tweet["in_reply_to_status_id_str"]
        else:
            tweet["text"] = "Later: " + tweet["text"]
        lines.append(json.dumps(tweet))
    copy.write_text("\n".join(lines) + "\n")
    store_threads(engine, copy)
    engine.dispose()
    log = tmp_path / "infer.log"
    with log.open("w") as stderr:
        infer = subprocess.Popen(
            [sys.executable, "-m", "threadtag.cli", "infer"], env=env, stderr=stderr, stdout=subprocess.DEVNULL
        )
    try:
        request = AnnotationRequest(root_id="8900000000", seq=1, reason="final", cutoff=3).to_bytes()
        produce(broker, env["REQUESTS_TOPIC"], [(0, b"8900000000", request)])
        wait_for(lambda: "batch annotated" in log.read_text(), 120, "the annotated batch", log)
    finally:
        infer.send_signal(signal.SIGTERM)
        infer.wait(timeout=60)
    assert any(r["event"] == "inference worker stopped" for r in _only_json(log.read_text()))
    small = {
        "EMBED_DIM": "16",
        "HIDDEN_SIZE": "16",
        "ENCODER_LAYERS": "1",
        "RETRAIN_MAX_EPOCHS": "1",
        "MODEL_DIR": str(tmp_path / "models"),
    }
    retrain = subprocess.run(
        [sys.executable, "-m", "threadtag.cli", "retrain", "--no-progress"],
        cwd=ROOT,
        env={**env, **small},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert retrain.returncode == 0, retrain.stderr[-2000:]
    assert any(r["event"] == "retrain done" for r in _only_json(retrain.stderr)), retrain.stderr[-2000:]
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MODEL_PATH")}
    run_env = {
        **clean,
        **json_env,
        "DATABASE_URL": database_url,
        "KAFKA_SESSION_TIMEOUT_S": "6",
        "KAFKA_HEARTBEAT_INTERVAL_S": "1",
        "STREAM_DATA_DIR": str(tmp_path / "run-stream"),
    }
    main_job = subprocess.run(
        [sys.executable, "-m", "threadtag.cli", "run", "--workdir", str(tmp_path / "run")],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert main_job.returncode == 0, main_job.stderr[-2000:]
    assert _only_json(main_job.stderr) and "24 threads" in main_job.stdout
