"""Fixtures, and the two lanes: `integration` marks every test that uses a service (the real
broker, PostgreSQL, a trained model) or spawns a process, and is given to such tests here or
in their modules; the rest is the unit lane (`-m "not integration"`), where starting a
process fails the test."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.helpers.models import TINY
from tests.helpers.paths import LOCAL_DB, SHARED_DATA
from threadtag.core.database import on_database
from threadtag.core.settings import Settings, get_settings

# Fixtures that bring a service: a test that takes one is an integration test.
SERVICES = {"broker", "database_url", "zoned_database_url", "off_utc_database_url", "sample_model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _font_cache_built() -> None:
    """matplotlib runs fc-list the first time it looks for fonts on a machine: done here, before
    any unit test's guard, it is not taken for a process the test started."""
    import matplotlib.font_manager  # noqa: F401


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that starts a process fails: mark it `integration` instead."""
    if request.node.get_closest_marker("integration") is None:

        def refuse(self: subprocess.Popen[bytes], args: object, *rest: object, **options: object) -> None:
            raise AssertionError(f"a unit test started a process ({args!r}): mark it integration")

        monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """A real Kafka-protocol broker (embedded Tansu) shared by the tests; its address."""
    from threadtag.core.broker import EmbeddedBroker

    with EmbeddedBroker() as running:
        yield running.bootstrap


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database on the local server (else the embedded one), dropped afterwards."""
    name = f"tt_{uuid.uuid4().hex[:10]}"
    admin = create_engine(LOCAL_DB, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield on_database(LOCAL_DB, name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


# Zones whose offsets push the ends of the years 1-9999 UTC out of them: a session that read
# post times in its own zone met years 0 and 10000.
OFF_UTC_ZONES = ["America/New_York", "Asia/Tokyo"]


def set_database_zone(database_url: str, zone: str) -> None:
    """ALTER DATABASE ... SET timezone: every new session of that database starts in `zone`."""
    admin = create_engine(LOCAL_DB, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE \"{make_url(database_url).database}\" SET timezone TO '{zone}'"))
    admin.dispose()


@pytest.fixture(params=["UTC", *OFF_UTC_ZONES])
def zoned_database_url(request: pytest.FixtureRequest, database_url: str) -> str:
    """database_url on a database whose TimeZone is UTC, then each zone of OFF_UTC_ZONES."""
    set_database_zone(database_url, request.param)
    return database_url


@pytest.fixture(params=OFF_UTC_ZONES)
def off_utc_database_url(request: pytest.FixtureRequest, database_url: str) -> str:
    set_database_zone(database_url, request.param)
    return database_url


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small model on the bundled sample threads, trained once per test session."""
    from threadtag.app import recipes

    path = tmp_path_factory.mktemp("model") / "sample.pt"
    recipes.train_sample_model(Settings(), path, progress=False)
    return path


@pytest.fixture
def weibo_dir() -> Path:
    path = SHARED_DATA / "weibo"
    if not (path / "post.txt").exists():
        pytest.skip(f"needs the shared Weibo data at {path} (present in CI, absent in this checkout)")
    return path


@pytest.fixture
def tiny_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings of a model small enough to train through the CLI in seconds."""
    for key, value in TINY.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
