"""`threadtag run` itself: embedded broker, the given database, the sample model, SQL output."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import LOCAL_DB, ROOT
from threadtag.app.schema import migrate
from threadtag.workers.model_registry import register_model_version

pytestmark = pytest.mark.slow


def test_run_annotates_the_sample_and_prints_it_from_sql(database_url, tmp_path):
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_SESSION_TIMEOUT_S": "6",
        "KAFKA_HEARTBEAT_INTERVAL_S": "1",
        "STREAM_DATA_DIR": str(tmp_path / "not" / "there" / "yet"),  # a fresh clone has no runs/
    }
    engine = create_engine(database_url)
    # Rows of another model already there must neither end the wait nor be what is shown.
    migrate(database_url)
    register_model_version(engine, "older-model", "/nowhere.pt", {}, "always")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO posts (id, platform, created_at, text, raw, root_id, conv_pos) "
                "VALUES ('900000000', 't', now(), 'x', '{}', '900000000', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO annotations (root_id, request_seq, model_version, n_replies, hashtags) "
                "VALUES ('900000000', 1, 'older-model', 3, '[]')"
            )
        )
    result = subprocess.run(
        [sys.executable, "-m", "threadtag.cli", "run", "--workdir", str(tmp_path), "--timeout", "240"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "24 threads" in result.stdout and "[3 replies]" in result.stdout
    # The sample model trained on 21 of the 24 sample threads (3 are its dev posts): the output
    # says so, for 20 here (thread 900000000 keeps the text 'x' inserted above).
    assert result.stdout.count("[the model trained on this thread]") == 20
    assert "(20 of 24 threads were the model's own training data" in result.stdout
    assert "author's hashtags: #AusOpen" in result.stdout
    with engine.connect() as conn:
        roots = conn.execute(
            text(
                "SELECT count(DISTINCT root_id) FROM annotations WHERE model_version <> 'older-model' AND n_replies = 3"
            )
        ).scalar()
        active = conn.execute(text("SELECT version FROM model_versions WHERE active")).scalars().all()
        older = conn.execute(text("SELECT n_replies, hashtags FROM annotations WHERE model_version = 'older-model'"))
        older_rows = older.all()
    engine.dispose()
    # The run annotated every thread with its own model, and left the other model active and its rows as they were.
    assert roots == 24
    assert active == ["older-model"] and older_rows == [(3, [])]


def _run(env: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_LEVEL")}
    base = {"KAFKA_SESSION_TIMEOUT_S": "6", "KAFKA_HEARTBEAT_INTERVAL_S": "1", "STREAM_DATA_DIR": str(tmp_path / "s")}
    return subprocess.run(
        [sys.executable, "-m", "threadtag.cli", "run", "--workdir", str(tmp_path), *args],
        cwd=ROOT,
        env={**clean, **base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_without_database_url_can_run_again_in_a_database_of_its_own(sample_model, tmp_path):
    name = f"tt_run_{uuid.uuid4().hex[:8]}"
    env = {"RUN_DATABASE_NAME": name, "MODEL_PATH": str(sample_model)}
    try:
        runs = [_run(env, tmp_path, "--timeout", "240") for _ in range(2)]
    finally:
        admin = create_engine(LOCAL_DB, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    for result in runs:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "24 threads" in result.stdout and f"/{name}" in result.stdout


def test_a_run_that_times_out_says_so_in_one_line(database_url, sample_model, tmp_path):
    result = _run(
        {"DATABASE_URL": database_url, "MODEL_PATH": str(sample_model), "LOG_LEVEL": "WARNING"},
        tmp_path,
        "--timeout",
        "0.1",
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 3 and lines == [lines[0]], result.stderr[-2000:]
    assert "threads not annotated in 0 s" in lines[0] and "logs" in lines[0]
