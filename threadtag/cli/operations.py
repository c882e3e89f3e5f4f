"""run, broker, topics, replay, migrate, doctor: the main job and a deployment's one-shot tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from threadtag.cli.main import command
from threadtag.cli.options import ProgressOpt
from threadtag.core.settings import get_settings


@command
def run(
    stream_file: Annotated[
        Optional[Path], typer.Option("--replay", help="Raw posts to feed; default the bundled sample.")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Sample model and worker logs go here.")] = Path("runs"),
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
    speed: Annotated[
        Optional[float], typer.Option(help="Replay pace (time factor); default as fast as possible.")
    ] = None,
    progress: ProgressOpt = True,
) -> None:
    """The main job: broker, database, model, stream and inference workers; replays a stream
    and prints the annotated posts queried in SQL. Embedded broker and database when none is set."""
    from threadtag.app.main_job import run_main_job

    settings = get_settings()
    run_main_job(settings, stream_file, workdir, timeout, speed, settings.progress_bars(progress))


@command
def broker(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 9092,
) -> None:
    """Run the embedded Tansu broker in the foreground (for running several workers by hand)."""
    from threadtag.app import lifecycle

    lifecycle.broker(get_settings(), port)


@command
def topics() -> None:
    """Create the pipeline's topics with KAFKA_PARTITIONS partitions (those missing); a
    deployment runs it once before the stream workers."""
    from threadtag.app import lifecycle

    lifecycle.topics(get_settings())


@command
def replay(
    file: Annotated[Path, typer.Argument(help="JSONL or JSONL.gz of raw posts, in stream order.")],
    speed: Annotated[float, typer.Option(help="Time factor: 60 replays a minute of posts per second.")] = 60.0,
    fast: Annotated[bool, typer.Option("--fast", help="As fast as possible, ignoring timestamps.")] = False,
    topic: Annotated[Optional[str], typer.Option(help="Default TWEETS_TOPIC.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Produce a file of raw posts to the tweets topic (needs KAFKA_BOOTSTRAP_SERVERS)."""
    from threadtag.app import lifecycle

    settings = get_settings()
    lifecycle.replay_file(settings, file, None if fast else speed, topic, settings.progress_bars(progress))


@command
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision; head = newest.")] = "head",
) -> None:
    """Bring the database (DATABASE_URL, else local, else embedded) to the given schema revision."""
    from threadtag.app import lifecycle

    lifecycle.migrate(get_settings(), revision)


@command
def doctor() -> None:
    """Check what a deployment needs, one line each: the database (DATABASE_URL), the broker
    (KAFKA_BOOTSTRAP_SERVERS), the model file (MODEL_PATH) and a CJK font for `explain`.
    Exit code 3 when a required check fails."""
    from threadtag.app import lifecycle

    raise typer.Exit(lifecycle.doctor(get_settings()))
