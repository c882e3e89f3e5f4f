"""The inference worker process: annotation requests -> batched beam search -> annotations."""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy import Engine

from threadtag.app import configs, recipes
from threadtag.app.lifecycle import kafka_client_quiet, migrated_engine, stop_on_signals
from threadtag.core import kafka_clients
from threadtag.core.broker_watch import wait_for_broker, watch_broker
from threadtag.core.failures import UsageError
from threadtag.core.metrics import set_live_quality_window, start_metrics
from threadtag.core.progress import ProgressLog
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint, CheckpointError
from threadtag.models.text import TextMemo
from threadtag.workers import inference
from threadtag.workers.annotation_sink import AnnotationSink
from threadtag.workers.model_registry import active_model, register_checkpoint, versions_newest_first

log = structlog.get_logger("threadtag")


def _last_loadable(engine: Engine, settings: Settings) -> tuple[Checkpoint, Path]:
    """The active version's checkpoint; if its file cannot be loaded, the most recently
    active version that loads, with a loud line: a lost file must not stop annotation."""
    active = active_model(engine)
    if active is None:
        raise UsageError("no active model version in the database: give --model or set MODEL_PATH")
    try:
        return recipes.load_checkpoint(Path(active.path), settings), Path(active.path)
    except CheckpointError as exc:
        failure = str(exc)
    for version in versions_newest_first(engine):
        if version.version == active.version:
            continue
        try:
            checkpoint = recipes.load_checkpoint(Path(version.path), settings)
        except CheckpointError:
            continue
        log.error(
            "the active model version cannot be loaded; serving the newest version that can",
            active=active.version,
            error=failure,
            serving=version.version,
            path=version.path,
        )
        return checkpoint, Path(version.path)
    # A missing or unusable file, whoever named it: one line and the same exit code as MODEL_PATH's.
    raise CheckpointError(
        f"the active model version {active.version} cannot be loaded ({failure}), nor any other registered version"
    )


def run_infer(settings: Settings, model: Path | None) -> None:
    """Serve `model` (else MODEL_PATH, else the active version), registered (and made active
    if none is); with INFER_FOLLOW_ACTIVE it then serves whichever version is active."""
    if not settings.kafka_bootstrap_servers:
        raise UsageError("set KAFKA_BOOTSTRAP_SERVERS: the worker reads the stream's requests topic")
    wait_for_broker(settings.kafka_bootstrap_servers, settings.broker_wait_seconds, settings.kafka_security_protocol)
    engine = migrated_engine(settings)
    path = model or settings.model_path
    checkpoint = recipes.load_checkpoint(path, settings) if path else None
    if path is None:
        checkpoint, path = _last_loadable(engine, settings)

    served = inference.ServedModel(
        engine,
        recipes.predictor(checkpoint, settings, memo=True),
        lambda active_path: recipes.predictor(active_path, settings, memo=True),
        settings.infer_reload_check_seconds,
        settings.infer_follow_active,
        settings.index_refresh_seconds,
        TextMemo(settings.text_memo_size),
    )
    register_checkpoint(engine, served.predictor.checkpoint, path, "if_none")
    sink = AnnotationSink(engine, served.version)
    with kafka_client_quiet(settings):
        consumer = kafka_clients.consumer(settings, [settings.requests_topic], settings.infer_group_id)
    start_metrics(settings, settings.infer_group_id, [settings.requests_topic], "inference")
    set_live_quality_window(settings.live_quality_window)
    stop = stop_on_signals(settings.shutdown_timeout_seconds)
    log.info("inference worker starting", model_version=served.version, device=str(configs.device(settings)))
    progress = ProgressLog("inference worker", settings.progress_log_seconds)
    watch_broker(settings, settings.kafka_bootstrap_servers, [settings.requests_topic])
    try:
        inference.run(
            consumer,
            settings.requests_topic,
            served,
            sink,
            settings.infer_batch_size,
            settings.infer_batch_wait_ms,
            settings.db_max_backoff_seconds,
            stop,
            progress,
        )
    finally:
        consumer.close()
        engine.dispose()
        progress.stopped()
