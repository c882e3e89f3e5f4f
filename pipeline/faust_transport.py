"""faust's aiokafka transport with two changes: the consumer's fetch wait is a setting, and
its wait for each record's delivery to the stream is cheap when the delivery is immediate.

faust fixes `fetch_max_wait_ms=1500` for the consumer of its stream workers. On the embedded
Tansu broker that wait is what a post waits before its worker sees it: at 100 ms the
post -> request latency at 200 posts/s fell from 471 to 82 ms p50. With
faust tables, restarted workers lost records at 100 ms (faust skipped a record fetched while
it seeked to restored offsets); the table-free stream showed no loss in 50 SIGKILLs
mid-backlog at 100 ms (bench/stream_restart.py), so 100 ms is the default now.

faust hands each fetched record to the stream through `Service.wait_first(delivery,
suspend_flow.wait())`, which makes four tasks a record (the delivery, the suspension, stop and
crash) and cancels three: 16 us a record, a tenth of the stream worker's CPU in a backlog.
The delivery rarely waits (only when the stream's buffer is full), so it
runs first as a task of its own, and the four-task wait is made only when it did not finish
in one turn of the loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TransportT
from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads it when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def wait_first(self, *coros: WaitArgT, timeout: Seconds = None) -> WaitResults:
        """mode's wait_first (the first of `coros` done, or the service stopped or crashed),
        answered without the other waits when the first coroutine is done within a turn of the loop."""
        first, *others = coros
        if not asyncio.iscoroutine(first):
            return await super().wait_first(*coros, timeout=timeout)
        task = asyncio.ensure_future(first)
        try:
            await asyncio.sleep(0)
        except BaseException:  # cancelled: as mode's wait_first, leave nothing of the wait running
            task.cancel()
            _close(others)
            raise
        if task.done() and not (self._stopped.is_set() or self._crashed.is_set()):
            _close(others)
            return WaitResults([first], [task.result()], False)
        return await super().wait_first(task, *others, timeout=timeout)


def _close(waits: list[WaitArgT]) -> None:
    """Close the coroutines a wait did not need, so that none is left never awaited."""
    for wait in waits:
        if asyncio.iscoroutine(wait):
            wait.close()


class _Transport(driver.Transport):
    Consumer = _Consumer


class StreamApp(faust.App):
    """A faust app whose Kafka consumer waits at most `fetch_max_wait_ms` per fetch."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
