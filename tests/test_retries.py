"""What the database's errors mean: an outage is waited for; a limit of the server (the
record's fault) and a wrong DATABASE_URL (a setting's) are raised at once."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.helpers.paths import LOCAL_DB
from threadtag.core.database import on_database
from threadtag.core.retries import (
    blames_the_data,
    is_outage,
    is_rolled_back,
    is_setting_mistake,
    with_db_retry,
    with_db_retry_async,
)


def _refused(url: str) -> OperationalError:
    with pytest.raises(OperationalError) as caught:
        create_engine(url).connect()
    return caught.value


def test_a_closed_port_is_an_outage_and_a_missing_database_a_setting():
    closed = _refused("postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert is_outage(closed) and not is_setting_mistake(closed) and not blames_the_data(closed)
    missing = _refused(on_database(LOCAL_DB, "no_such_database_here"))
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


def test_the_event_loops_retry_waits_out_an_outage_raises_the_rest_and_stops_when_told():
    closed = _refused("postgresql+psycopg://postgres@127.0.0.1:1/x")
    limit = OperationalError("INSERT", {}, type("ProgramLimitExceeded", (Exception,), {"sqlstate": "54000"})())
    calls = []

    def refusing(error: OperationalError, times: int):
        async def write() -> str:
            calls.append(1)
            if len(calls) <= times:
                raise error
            return "written"

        return write

    assert asyncio.run(with_db_retry_async(refusing(closed, 2), 0.01, threading.Event())) == "written"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(OperationalError):
        asyncio.run(with_db_retry_async(refusing(limit, 1), 0.01, threading.Event()))
    assert len(calls) == 1
    calls.clear()
    stop = threading.Event()

    def refused_then_stopped() -> Awaitable[str]:
        stop.set()  # a shutdown that arrives while the write is out: no further try
        return refusing(closed, 1)()

    with pytest.raises(OperationalError):  # one refusal would otherwise be retried, and the retry succeeds
        asyncio.run(with_db_retry_async(refused_then_stopped, 60, stop))
    assert len(calls) == 1


def test_a_deadlock_is_run_again_not_blamed_on_the_data(database_url):
    """Two transactions locking two rows in opposite orders: the server rolls one back
    (SQLSTATE 40P01). That is neither an outage nor the records' fault (a stream worker had
    crashed on it); with_db_retry runs it again and it goes through."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE locks (k int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO locks VALUES (1), (2)"))
    both_hold = threading.Barrier(2)
    failures: list[BaseException] = []
    attempts: list[int] = []

    def lock(first: int, second: int) -> None:
        def work() -> None:
            attempts.append(first)
            with engine.begin() as conn:
                conn.execute(text("SELECT * FROM locks WHERE k = :k FOR UPDATE"), {"k": first})
                if len(attempts) <= 2:  # the first try of each meets the other's lock
                    both_hold.wait(timeout=10)
                conn.execute(text("SELECT * FROM locks WHERE k = :k FOR UPDATE"), {"k": second})

        try:
            with_db_retry(work, 0.1, threading.Event(), lambda _: False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=lock, args=order) for order in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    assert failures == [] and len(attempts) == 3  # one of the two ran twice

    deadlock = OperationalError("UPDATE", {}, type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})())
    assert is_rolled_back(deadlock) and not is_outage(deadlock) and not blames_the_data(deadlock)
