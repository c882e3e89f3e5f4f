"""stream, infer, retrain: the pipeline's long-running workers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from threadtag.cli.main import command
from threadtag.cli.options import ProgressOpt
from threadtag.core.settings import get_settings


@command
def stream() -> None:
    """Run a stream worker: raw posts -> PostgreSQL (posts, conversations) -> annotation requests.

    Start several with the same KAFKA_BOOTSTRAP_SERVERS and database to share the partitions."""
    from threadtag.app.stream import run_stream

    run_stream(get_settings())


@command
def infer(
    model: Annotated[
        Optional[Path], typer.Option(help="Checkpoint to start with; default MODEL_PATH, else the active version.")
    ] = None,
) -> None:
    """Run an inference worker: annotation requests -> ranked hashtags in PostgreSQL.

    The model it starts with is registered (and made active if none is); with
    INFER_FOLLOW_ACTIVE it then serves whichever version is active. Start several (same
    INFER_GROUP_ID) to share the requests' partitions."""
    from threadtag.app.infer import run_infer

    run_infer(get_settings(), model)


@command
def retrain(
    weibo: Annotated[
        Optional[list[Path]], typer.Option(help="Weibo-style directory to mix in (older than the stream); repeatable.")
    ] = None,
    tweets: Annotated[
        Optional[list[Path]], typer.Option(help="JSONL(.gz) of v1.1 tweets to mix in; repeatable.")
    ] = None,
    every: Annotated[Optional[str], typer.Option(help="Run now and then every interval: 24h, 90m, 1h30m.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Run on a cron schedule (UTC), e.g. '0 3 * * *'.")] = None,
    progress: ProgressOpt = True,
) -> None:
    """Train a new model on what the stream stored; activate it if the held-out gate passes.

    Labels are the hashtags authors put at the start or end of root posts; the newest posts
    are held out; new and active models are scored on them and the new one becomes active
    unless its F1@1 is worse by more than RETRAIN_F1_TOLERANCE. Either way the version,
    its metrics and its data counts go into model_versions. One run at a time (a Postgres
    advisory lock): a run that finds another going trains nothing."""
    from threadtag.app.retrain import run_retrain

    settings = get_settings()
    run_retrain(settings, weibo or [], tweets or [], every, cron, settings.progress_bars(progress))
