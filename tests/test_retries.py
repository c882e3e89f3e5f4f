"""What the database's errors mean: an outage is waited for; a limit of the server (the
record's fault) and a wrong DATABASE_URL (a setting's) are raised at once."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.helpers.paths import LOCAL_DB
from threadtag.core.retries import blames_the_data, is_outage, is_setting_mistake, with_db_retry


def _refused(url: str) -> OperationalError:
    with pytest.raises(OperationalError) as caught:
        create_engine(url).connect()
    return caught.value


def test_a_closed_port_is_an_outage_and_a_missing_database_a_setting():
    closed = _refused("postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert is_outage(closed) and not is_setting_mistake(closed) and not blames_the_data(closed)
    try:
        missing = _refused(LOCAL_DB.rsplit("/", 1)[0] + "/no_such_database_here")
    except pytest.fail.Exception:
        pytest.skip(f"no PostgreSQL at {LOCAL_DB}")
    assert is_setting_mistake(missing) and not is_outage(missing) and not blames_the_data(missing)


def test_an_index_row_past_the_servers_limit_blames_the_data(database_url):
    engine = create_engine(database_url)
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k text PRIMARY KEY)"))
        # Digits of no pattern: compressed, a repetition would fit in the index.
        conn.execute(text("INSERT INTO t VALUES (:k)"), {"k": "".join(random.Random(0).choices("0123456789", k=5000))})
    engine.dispose()
    assert caught.value.orig.sqlstate == "54000"  # program_limit_exceeded: psycopg says OperationalError
    assert blames_the_data(caught.value) and not is_outage(caught.value)


def test_only_an_outage_is_retried():
    calls = []

    def refuse(error: OperationalError):
        def write() -> str:
            calls.append(1)
            if len(calls) < 3:
                raise error
            return "written"

        return write

    closed = _refused("postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert with_db_retry(refuse(closed), 0.01, threading.Event(), lambda _: False) == "written"
    assert len(calls) == 3
    calls.clear()
    limit = OperationalError("INSERT", {}, type("ProgramLimitExceeded", (Exception,), {"sqlstate": "54000"})())
    with pytest.raises(OperationalError):
        with_db_retry(refuse(limit), 0.01, threading.Event(), lambda _: False)
    assert len(calls) == 1
