"""The stream app's Kafka consumer: its fetch wait comes from the settings, not faust's 1500 ms,
and its wait for each record's delivery keeps mode's `wait_first` outcomes without its four tasks."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from mode.services import Service, WaitResults

from threadtag.core.settings import Settings
from threadtag.pipeline.topology import build_app


def test_the_stream_consumer_waits_as_long_as_the_setting_says(tmp_path):
    async def fetch_wait() -> int:
        settings = Settings(stream_fetch_max_wait_ms=123, stream_data_dir=tmp_path)
        app = build_app(settings, "127.0.0.1:9", None)  # nothing is contacted: the consumer is not started
        consumer = app.consumer._new_consumer_thread()._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms  # what aiokafka hands its fetcher on start
        finally:
            await consumer.stop()

    assert asyncio.run(fetch_wait()) == 123


def _consumer(tmp_path):
    settings = Settings(stream_data_dir=tmp_path)
    return build_app(settings, "127.0.0.1:9", None).consumer  # not started: nothing is contacted


def _blocked(log: list[str], release: asyncio.Future[str]):
    async def delivery() -> str:
        try:
            return await release
        except asyncio.CancelledError:
            log.append("delivery cancelled")
            raise

    return delivery()


def test_a_delivery_done_at_once_skips_the_four_task_wait(tmp_path, monkeypatch):
    async def scenario():
        consumer = _consumer(tmp_path)

        async def refuse(*args, **kwargs):
            raise AssertionError("the four-task wait was made for a delivery done at once")

        async def delivery() -> str:
            return "delivered"

        suspended = consumer.suspend_flow.wait()
        monkeypatch.setattr(Service, "wait_first", refuse)
        first = delivery()
        result = await consumer.wait_first(first, suspended)
        return result, first, inspect.getcoroutinestate(suspended)

    result, first, suspended_state = asyncio.run(scenario())
    assert result == WaitResults([first], ["delivered"], False)
    assert suspended_state == inspect.CORO_CLOSED  # not left "never awaited"


def test_a_waiting_delivery_gives_way_to_the_suspension_as_in_mode(tmp_path):
    """The same scenario through mode's wait_first and the override: the same outcome."""

    async def scenario(wait_first) -> tuple[list[object], bool, list[str]]:
        consumer = _consumer(tmp_path)
        log: list[str] = []
        release = asyncio.get_running_loop().create_future()
        suspended = consumer.suspend_flow.wait()
        asyncio.get_running_loop().call_later(0.05, consumer.suspend_flow.set)
        result = await wait_first(consumer, _blocked(log, release), suspended)
        await asyncio.sleep(0)  # the cancelled delivery runs its handler
        return [w is suspended for w in result.done], result.stopped, log

    ours = asyncio.run(scenario(lambda c, *coros: c.wait_first(*coros)))
    modes = asyncio.run(scenario(lambda c, *coros: Service.wait_first(c, *coros)))
    assert ours == modes == ([True], False, ["delivery cancelled"])


def test_a_waiting_delivery_that_finishes_later_is_the_result(tmp_path):
    async def scenario():
        consumer = _consumer(tmp_path)
        release = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.05, release.set_result, "late")
        return await consumer.wait_first(_blocked([], release), consumer.suspend_flow.wait())

    result = asyncio.run(scenario())
    assert result.results == ["late"] and not result.stopped


def test_a_failing_delivery_raises_through_the_wait(tmp_path):
    async def scenario():
        consumer = _consumer(tmp_path)

        async def delivery() -> None:
            raise KeyError("no stream for this partition")

        await consumer.wait_first(delivery(), consumer.suspend_flow.wait())

    with pytest.raises(KeyError, match="no stream"):
        asyncio.run(scenario())


def test_a_cancelled_wait_leaves_no_delivery_running(tmp_path):
    async def scenario() -> tuple[list[str], str]:
        consumer = _consumer(tmp_path)
        log: list[str] = []
        release = asyncio.get_running_loop().create_future()
        suspended = consumer.suspend_flow.wait()
        waiting = asyncio.ensure_future(consumer.wait_first(_blocked(log, release), suspended))
        await asyncio.sleep(0)  # the wait has started its delivery and yields for a turn
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)
        return log, inspect.getcoroutinestate(suspended)

    log, suspended_state = asyncio.run(scenario())
    assert log == ["delivery cancelled"]
    assert suspended_state == inspect.CORO_CLOSED
