"""The stream worker process: the faust topology on the configured (or an embedded) broker."""

from __future__ import annotations

import asyncio
import gc
import importlib.util

import faust
import mode.loop
import structlog

from threadtag.app.lifecycle import kafka_client_quiet, migrated_url
from threadtag.core.broker import create_topics, kafka_endpoint
from threadtag.core.broker_watch import wait_for_broker, watch_broker
from threadtag.core.database import async_engine, plan_generic_without_jit
from threadtag.core.failures import UsageError
from threadtag.core.logging_setup import stdlib_handler
from threadtag.core.metrics import start_metrics
from threadtag.core.settings import Settings
from threadtag.pipeline.topology import build_app

log = structlog.get_logger("threadtag")


def _collect_less() -> None:
    """Each batch of parsed posts lives a moment as tens of thousands of objects; with Python's
    default thresholds they set off full collections over every object the process holds
    (2.0 s of GC in a 14 s backlog run, 0.4 s after this). What start-up made
    is frozen out of collections, and young ones run every 20,000 allocations, not 700."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def use_event_loop(settings: Settings) -> None:
    """STREAM_EVENT_LOOP, set before faust makes a loop: its consumer thread's loop is one too."""
    if settings.stream_event_loop != "uvloop":
        return
    if importlib.util.find_spec("uvloop") is None:  # not installed on this platform (Windows) or by hand
        raise UsageError(
            "STREAM_EVENT_LOOP=uvloop but uvloop is not installed: pip install uvloop, or STREAM_EVENT_LOOP=asyncio"
        )
    mode.loop.use("uvloop")


def run_stream(settings: Settings) -> None:
    use_event_loop(settings)
    engine = async_engine(migrated_url(settings), pool_pre_ping=True)  # disposed by the app on shutdown
    plan_generic_without_jit(engine.sync_engine)
    if bootstrap := settings.kafka_bootstrap_servers:
        wait_for_broker(bootstrap, settings.broker_wait_seconds, settings.kafka_security_protocol)
    with kafka_endpoint(settings.kafka_bootstrap_servers) as endpoint:
        with kafka_client_quiet(settings):
            create_topics(settings, endpoint.bootstrap)
        stream_app = build_app(settings, endpoint.bootstrap, engine)
        started = settings.model_copy(update={"kafka_bootstrap_servers": endpoint.bootstrap})
        start_metrics(started, settings.stream_app_id, [settings.tweets_topic], "stream")
        loop = type(asyncio.get_event_loop_policy()).__module__.partition(".")[0]  # the one in use: uvloop or asyncio
        log.info("stream worker starting", bootstrap=endpoint.bootstrap, app_id=settings.stream_app_id, event_loop=loop)
        if settings.kafka_bootstrap_servers:  # the embedded broker lives and dies with this process
            watch_broker(settings, endpoint.bootstrap, [settings.tweets_topic])
        # faust sets up logging of its own (colored text on stdout): hand it ours instead.
        stream_app.conf.loghandlers = [stdlib_handler(settings.log_format)]
        root = {"level": settings.log_level}
        stream_app.conf.logging_config = {"version": 1, "disable_existing_loggers": False, "root": root}
        _collect_less()
        # redirect_stdouts=False: faust would wrap sys.stderr, where structlog writes, and lose our lines.
        worker = faust.Worker(stream_app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        worker.execute_from_commandline()
