"""`threadtag doctor` names what is wrong, one line a check, and fails when a required one does."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from threadtag.cli import app
from threadtag.core.settings import get_settings


@pytest.fixture
def environment(monkeypatch):
    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()


def _checks(output: str) -> dict[str, str]:
    """Check name -> its line. Only the checks' lines: once in a full run a log line of
    another thread (`[info] ...`) was captured with them."""
    checks = [line for line in output.splitlines() if line.split()[:1] in (["ok"], ["warn"], ["FAIL"])]
    return {line.split()[1]: line for line in checks}


def test_everything_in_place(environment, database_url, broker, sample_model):
    environment(DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=broker, MODEL_PATH=str(sample_model))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = _checks(result.output)
    assert lines["database"].startswith("ok") and "no schema yet" in lines["database"]
    assert lines["broker"].startswith("ok") and broker in lines["broker"]
    assert lines["model"].startswith("ok") and "en" in lines["model"]
    assert set(lines) == {"database", "broker", "model", "font"}


def test_a_database_that_does_not_answer_and_a_corrupt_model_fail(environment, tmp_path):
    model = tmp_path / "m.pt"
    model.write_bytes(b"garbage")
    environment(DATABASE_URL="postgresql://postgres@127.0.0.1:1/x", MODEL_PATH=str(model))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 3
    lines = _checks(result.output)
    assert lines["database"].startswith("FAIL") and "DATABASE_URL" in lines["database"]
    assert lines["model"].startswith("FAIL") and "not a threadtag checkpoint" in lines["model"]
    assert lines["broker"].startswith("ok")  # unset: the embedded broker


def test_the_active_models_file_gone_fails_the_model_check(environment, database_url, sample_model, tmp_path):
    import shutil

    from sqlalchemy import create_engine

    from threadtag.app.schema import migrate
    from threadtag.models.checkpoint import Checkpoint
    from threadtag.workers.model_registry import register_checkpoint

    model = tmp_path / "active.pt"
    shutil.copy(sample_model, model)
    migrate(database_url)
    engine = create_engine(database_url)
    register_checkpoint(engine, Checkpoint.load(model), model, "always")
    engine.dispose()
    environment(DATABASE_URL=database_url)
    assert _checks(CliRunner().invoke(app, ["doctor"]).output)["model"].startswith("ok")
    model.unlink()
    result = CliRunner().invoke(app, ["doctor"])
    line = _checks(result.output)["model"]
    assert result.exit_code == 3 and line.startswith("FAIL") and "no checkpoint at" in line and "active version" in line


def test_a_check_that_hangs_fails_after_its_timeout_and_the_others_still_report(environment, database_url):
    with socket.socket() as silent:  # takes connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        environment(
            DATABASE_URL=database_url,
            KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{silent.getsockname()[1]}",
            DOCTOR_CHECK_TIMEOUT_SECONDS="1",
        )
        result = CliRunner().invoke(app, ["doctor"])
    lines = _checks(result.output)
    assert result.exit_code == 3, result.output
    assert lines["broker"].startswith("FAIL")
    assert "no answer within 1 s (DOCTOR_CHECK_TIMEOUT_SECONDS)" in lines["broker"]
    assert lines["database"].startswith("ok") and set(lines) == {"database", "broker", "model", "font"}
