"""When scheduled jobs run: `--every 24h` intervals or cron expressions, and the loop that waits."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import structlog
from croniter import croniter

log = structlog.get_logger(__name__)

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(spec: str) -> timedelta:
    """'24h', '90m', '1h30m', '45s', '1d' -> a positive interval."""
    compact = spec.replace(" ", "").lower()
    parts = _PART_RE.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not an interval: {spec!r} (use e.g. 24h, 90m, 1h30m, 45s, 1d)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"interval must be positive: {spec!r}")
    return timedelta(seconds=seconds)


def next_time(after: datetime, every: str | None = None, cron: str | None = None) -> datetime:
    """The first run time strictly after `after` (UTC) for exactly one of `every` or `cron`."""
    if (every is None) == (cron is None):
        raise ValueError("give exactly one of every or cron")
    if every is not None:
        return after + parse_every(every)
    assert cron is not None
    if not croniter.is_valid(cron):
        raise ValueError(f"not a cron expression: {cron!r} (e.g. '0 3 * * *' for 03:00 UTC daily)")
    return croniter(cron, after).get_next(datetime)


def run_periodically(
    job: Callable[[], object],
    every: str | None,
    cron: str | None,
    stop: threading.Event,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> None:
    """Run `job` (at once with `every`, at the first due time with `cron`), then at each next
    time until `stop`. One run at a time: the next time is reckoned after a run ends."""
    due = now() if every is not None else next_time(now(), every, cron)
    while True:
        wait = (due - now()).total_seconds()
        if wait > 0:
            log.info("next scheduled run", at=due.isoformat(timespec="seconds"))
            if stop.wait(wait):
                return
        try:
            job()
        except Exception:  # noqa: BLE001 - one failed run must not end the schedule
            log.exception("scheduled run failed; trying again at the next time")
        if stop.is_set():
            return
        due = next_time(now(), every, cron)
