"""Retraining schedules: intervals, cron, and a loop that survives a failed run."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from threadtag.workers.schedule import next_time, parse_every, run_periodically


def test_intervals_and_cron_give_the_next_run_time():
    assert parse_every("24h") == timedelta(hours=24)
    assert parse_every("1h30m") == timedelta(minutes=90)
    assert parse_every("1d") == timedelta(days=1) and parse_every("45s") == timedelta(seconds=45)
    for bad in ("", "24", "h", "3x", "10m and more", "0s"):
        with pytest.raises(ValueError):
            parse_every(bad)
    now = datetime(2026, 11, 24, 10, 17, tzinfo=timezone.utc)
    assert next_time(now, every="90m") == datetime(2026, 11, 24, 11, 47, tzinfo=timezone.utc)
    assert next_time(now, cron="0 3 * * *") == datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
    assert next_time(now, cron="*/15 * * * *") == datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        next_time(now, cron="every night")
    with pytest.raises(ValueError):
        next_time(now, every="1h", cron="0 3 * * *")


def test_a_schedule_runs_again_after_a_failed_run_and_stops_on_request():
    stop = threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) == 3:
            stop.set()
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    worker = threading.Thread(target=run_periodically, args=(job, "0.05s", None, stop))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and len(runs) == 3
