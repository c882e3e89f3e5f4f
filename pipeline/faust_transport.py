"""faust's aiokafka transport with one change: the consumer's fetch wait is a setting.

faust fixes `fetch_max_wait_ms=1500` for the consumer of its stream workers. On the embedded
Tansu broker that wait is what a post waits before its worker sees it: at 100 ms the
post -> request latency at 200 posts/s fell from 471 to 82 ms p50 (BENCHMARKS.md). With
faust tables, restarted workers lost records at 100 ms (faust skipped a record fetched while
it seeked to restored offsets); the table-free stream showed no loss in 50 SIGKILLs
mid-backlog at 100 ms (bench/stream_restart.py), so 100 ms is the default now.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TransportT


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads it when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer = _Consumer


class StreamApp(faust.App):
    """A faust app whose Kafka consumer waits at most `fetch_max_wait_ms` per fetch."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
