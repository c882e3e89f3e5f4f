"""The stream app's Kafka consumer takes its fetch wait from the settings, not faust's 1500 ms."""

from __future__ import annotations

import asyncio

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
