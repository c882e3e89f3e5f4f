"""A worker's periodic progress line: what it did since the last line (posts, requests, dead
letters, ...), every PROGRESS_LOG_SECONDS, and its totals in one line when it stops."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import structlog

from threadtag.core import metrics

log = structlog.get_logger("threadtag")


def consumer_lag() -> int:
    """This worker's consumer lag summed over its partitions (the gauge the metrics poller sets)."""
    return int(sum(sample.value for family in metrics.CONSUMER_LAG.collect() for sample in family.samples))


@dataclass
class ProgressLog:
    worker: str  # "stream worker", "inference worker"
    every: float  # seconds between lines; 0: none (the shutdown line still comes)
    interval: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    last: float = field(default_factory=time.monotonic)

    def add(self, **counts: int) -> None:
        """Count work done; log the interval's line when it is due."""
        self.interval.update(counts)
        self.total.update(counts)
        now = time.monotonic()
        if self.every and now - self.last >= self.every:
            log.info(f"{self.worker} progress", seconds=round(now - self.last, 1), lag=consumer_lag(), **self.interval)
            self.interval.clear()
            self.last = now

    def stopped(self) -> None:
        log.info(f"{self.worker} stopped", seconds=round(time.monotonic() - self.started, 1), **self.total)
