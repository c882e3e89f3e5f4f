"""The synchronous commands on either PostgreSQL driver: psycopg 3 (the default) and psycopg2
(the psycopg2 extra); the stream worker on psycopg 3 whatever the URL names."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.helpers.inference import inference_env, sample_requests
from tests.helpers.streaming import produce, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.cli import app
from threadtag.core.database import async_engine, sync_engine
from threadtag.core.settings import Settings, get_settings

pytestmark = pytest.mark.slow


def _on(driver: str, url: str) -> str:
    return url.replace("postgresql+psycopg://", f"postgresql+{driver}://", 1)


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_migrate_doctor_and_infer_on_either_driver(driver, broker, database_url, sample_model, tmp_path, monkeypatch):
    url = _on(driver, database_url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker)
    monkeypatch.setenv("MODEL_PATH", str(sample_model))
    get_settings.cache_clear()
    try:
        migrated = CliRunner().invoke(app, ["migrate"])
        doctor = CliRunner().invoke(app, ["doctor"])
    finally:
        get_settings.cache_clear()
    assert migrated.exit_code == 0 and "database at revision" in migrated.output, migrated.output
    assert doctor.exit_code == 0, doctor.output
    [line] = [line for line in doctor.output.splitlines() if line.split()[:2] == ["ok", "database"]]
    assert f"postgresql+{driver}://" in line and "answers" in line, doctor.output
    sent = sample_requests(database_url, copies=1)
    env = inference_env(broker, url, sample_model, tmp_path)
    produce(broker, env["REQUESTS_TOPIC"], sent)
    engine = sync_engine(url)
    assert engine.dialect.driver == driver

    def annotated() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(DISTINCT root_id) FROM annotations")).scalar_one())

    with CommandProcess(["infer"], env, tmp_path / "infer.log"):
        wait_for(lambda: annotated() == len(sent), 120, "every request annotated", tmp_path / "infer.log")
    engine.dispose()


def test_the_stream_worker_uses_psycopg_3_whatever_the_url_names(database_url):
    engine = async_engine(_on("psycopg2", database_url))
    assert engine.dialect.driver == "psycopg"
    assert Settings(database_url=_on("psycopg2", database_url)).database_url.startswith("postgresql+psycopg2://")


def test_a_url_of_another_database_is_refused_with_the_drivers_it_takes():
    with pytest.raises(ValueError, match="postgresql\\+psycopg2://"):
        Settings(database_url="mysql://u@h/d")
