"""`threadtag run` itself: embedded broker, the given database, the sample model, SQL output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from threadtag.processes import ROOT

pytestmark = pytest.mark.slow


def test_run_annotates_the_sample_and_prints_it_from_sql(database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "KAFKA_SESSION_TIMEOUT_S": "6", "KAFKA_HEARTBEAT_INTERVAL_S": "1"}
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
    engine = create_engine(database_url)
    with engine.connect() as conn:
        roots = conn.execute(text("SELECT count(*) FROM latest_annotations WHERE n_replies = 3")).scalar()
    engine.dispose()
    assert roots == 24
