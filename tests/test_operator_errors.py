"""A person's mistake (a database that does not answer, a wrong file, a bad setting) is one
line on stderr with a hint and a distinct exit code, not a traceback: the console entry
point (`threadtag.cli:console_main`) run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kafka.errors import KafkaTimeoutError
from sqlalchemy import text

from tests.helpers.paths import LOCAL_DB
from threadtag.app.recipes import SAMPLE_THREADS
from threadtag.cli.errors import describe
from threadtag.core.database import on_database
from threadtag.core.settings import Settings

pytestmark = pytest.mark.integration  # it starts processes


def _threadtag(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_LEVEL", "MODEL_PATH")}
    return subprocess.run(
        [sys.executable, "-m", "threadtag.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_database_at_a_closed_port():
    _one_line(_threadtag("migrate", DATABASE_URL="postgresql://postgres@127.0.0.1:1/x"), 3, "DATABASE_URL", "port 1")


def test_a_database_that_does_not_exist_named_with_a_postgres_url():
    """postgres:// (what hosting services print) means the psycopg driver, no NoSuchModuleError."""
    assert Settings(database_url="postgres://u@h:5/d").database_url == "postgresql+psycopg://u@h:5/d"
    url = on_database(LOCAL_DB, "no_such_database_here").replace("postgresql+psycopg", "postgres")
    _one_line(_threadtag("migrate", DATABASE_URL=url), 2, "DATABASE_URL", "no_such_database_here")


@pytest.mark.parametrize("content", [b"garbage", b"PK\x03\x04truncated zip"])
def test_a_corrupt_checkpoint(tmp_path: Path, content: bytes):
    model = tmp_path / "m.pt"
    model.write_bytes(content)
    _one_line(_threadtag("predict", "--model", str(model), "--post", "hi"), 4, str(model), "not a threadtag checkpoint")
    _one_line(_threadtag("predict", "--model", str(tmp_path / "none.pt"), "--post", "hi"), 4, "no checkpoint at")


def test_a_setting_that_does_not_parse():
    _one_line(_threadtag("demo", INFER_BATCH_SIZE="abc"), 2, "INFER_BATCH_SIZE")


def test_top_k_above_the_beam_is_one_line():
    _one_line(_threadtag("migrate", TOP_K="30"), 2, "TOP_K (30)", "BEAM_SIZE (20)")


def test_a_misspelled_variable_is_named_with_what_was_meant():
    result = _threadtag(
        "migrate", KAFKA_BOOTSTRAP_SERVER="kafka.prod:9092", DATABASE_URL="postgresql://postgres@127.0.0.1:1/x"
    )
    warning = [line for line in result.stderr.splitlines() if "KAFKA_BOOTSTRAP_SERVER " in line]
    assert len(warning) == 1 and "did you mean KAFKA_BOOTSTRAP_SERVERS?" in warning[0], result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_debug_keeps_the_traceback():
    result = _threadtag("migrate", DATABASE_URL="postgresql://postgres@127.0.0.1:1/x", LOG_LEVEL="DEBUG")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_the_embedded_broker_on_a_taken_port_says_so(broker: str):
    """Before, `threadtag broker --port P` on a taken port reached the broker already there
    and printed that it had started."""
    port = broker.rsplit(":", 1)[1]
    result = _threadtag("broker", "--port", port)
    _one_line(result, 3, f"port {port}", "is taken")
    assert "embedded broker on" not in result.stdout


def test_a_worker_started_before_its_database_waits_for_it(tmp_path: Path, broker: str):
    """Commands stop at a database that does not answer; long-running workers wait for it."""
    from tests.helpers.streaming import wait_for
    from threadtag.app.processes import CommandProcess

    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        "METRICS_PORT": "0",
        "DB_MAX_BACKOFF_SECONDS": "1",
    }
    log = tmp_path / "stream.log"
    worker = CommandProcess(["stream"], env, log).start()
    try:
        wait_for(lambda: log.read_text().count("database unavailable, retrying") >= 3, 60, "three retries", log)
        assert worker.process is not None and worker.process.poll() is None, log.read_text()
    finally:
        worker.stop()


@pytest.mark.slow
def test_a_broker_that_does_not_answer(database_url, sample_model):
    """kafka-python gives up bootstrapping after about 35 s; then one line, naming the
    variable: from a one-shot command and from both workers (the three at once)."""
    closed = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": database_url, "MODEL_PATH": str(sample_model)}
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda command: _threadtag(command, **closed), ["topics", "stream", "infer"]))
    for result in results:
        _one_line(result, 3, "KAFKA_BOOTSTRAP_SERVERS")


@pytest.mark.parametrize("error", [KafkaTimeoutError(), KafkaTimeoutError(None)])
def test_a_kafka_timeout_without_a_message_is_named_by_its_class(error: Exception):
    failure = describe(error)
    assert failure is not None and failure.message == "the Kafka broker does not answer: KafkaTimeoutError"


def test_an_inventory_path_that_names_no_file(tmp_path):
    result = _threadtag("train", "--tweets", "x.jsonl", "--out", str(tmp_path / "m.pt"), INVENTORY_PATH="/nope/inv.txt")
    _one_line(result, 2, "INVENTORY_PATH", "/nope/inv.txt")


def test_weibo_files_of_different_lengths(tmp_path):
    (tmp_path / "post.txt").write_text("一 二\n三 四\n", encoding="utf-8")
    (tmp_path / "conv.txt").write_text("回复\n", encoding="utf-8")
    (tmp_path / "tag.txt").write_text("标签\n标签\n", encoding="utf-8")
    result = _threadtag("train", "--weibo", str(tmp_path), "--out", str(tmp_path / "m.pt"))
    _one_line(result, 4, "not aligned", "conv.txt")


def test_a_tweet_file_with_a_broken_line(tmp_path):
    source = tmp_path / "tweets.jsonl"
    source.write_text(SAMPLE_THREADS.read_text(encoding="utf-8").splitlines()[0] + "\n{broken\n", encoding="utf-8")
    result = _threadtag("train", "--tweets", str(source), "--out", str(tmp_path / "m.pt"))
    _one_line(result, 4, f"{source}:2", "not a v1.1 tweet")


@pytest.mark.slow
def test_the_main_job_past_its_timeout(tmp_path, database_url, sample_model):
    """The run's workers get no time to annotate: one line saying how many threads are left
    and where the logs are (the run's own INFO lines are left out with LOG_LEVEL=WARNING)."""
    result = _threadtag(
        "run",
        "--timeout",
        "1",
        "--workdir",
        str(tmp_path),
        DATABASE_URL=database_url,
        MODEL_PATH=str(sample_model),
        LOG_LEVEL="WARNING",
    )
    _one_line(result, 3, "threads not annotated in 1 s", "logs")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("train", "--weibo", "/nope/weibo", "--out", "m.pt"), ("/nope/weibo", "train --help`")),
        (("train", "--no-such-option"), ("--no-such-option", "train --help`")),
        (("predict",), ("Missing option", "predict --help`")),
    ],
)
def test_a_usage_mistake_is_one_line_not_a_box(args: tuple[str, ...], words: tuple[str, ...]):
    _one_line(_threadtag(*args), 2, *words)


def test_uvloop_asked_for_but_not_installed_names_the_setting(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    from threadtag.app.stream import use_event_loop
    from threadtag.core.failures import UsageError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else object())
    with pytest.raises(UsageError, match="STREAM_EVENT_LOOP=asyncio"):
        use_event_loop(Settings(stream_event_loop="uvloop"))
    use_event_loop(Settings(stream_event_loop="asyncio"))  # Python's own loop needs nothing installed


def test_an_active_model_version_whose_file_is_gone_is_one_line_as_a_missing_model_path(database_url, tmp_path):
    from threadtag.app.schema import migrate
    from threadtag.core.database import sync_engine

    migrate(database_url)
    engine = sync_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO model_versions (version, path, active, activated_at) VALUES ('gone', :p, true, now())"),
            {"p": str(tmp_path / "deleted.pt")},
        )
    engine.dispose()
    closed = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": database_url}
    _one_line(_threadtag("infer", **closed), 4, "active model version gone cannot be loaded", "no checkpoint at")
    _one_line(_threadtag("infer", **closed, MODEL_PATH=str(tmp_path / "none.pt")), 4, "no checkpoint at")
