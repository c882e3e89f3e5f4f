"""What the end-to-end benchmarks share: a database serving a model, the two workers running
as processes over a broker, and what the inference worker logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine

from bench.stream_backlog import fresh_database
from threadtag.app.processes import CommandProcess, child_env
from threadtag.core.broker import create_topics
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.workers.model_registry import register_checkpoint


def serving_database(model: Path) -> tuple[str, Engine]:
    """A fresh database on the local PostgreSQL with `model` as its active version."""
    database = fresh_database()
    engine = create_engine(database)
    register_checkpoint(engine, Checkpoint.load(model), model, "always")
    return database, engine


@contextmanager
def stream_and_infer(settings: Settings, bootstrap: str, logs: Path, tag: str = "") -> Iterator[Path]:
    """The topics created, one `threadtag stream` and one `threadtag infer` running until the
    block ends (their logs in `logs`); yields the inference worker's log."""
    create_topics(settings, bootstrap)
    env = child_env(settings)
    infer_log = logs / f"infer{tag}.log"
    workers = [
        CommandProcess(["stream"], env, logs / f"stream{tag}.log").start(),
        CommandProcess(["infer"], env, infer_log).start(),
    ]
    try:
        yield infer_log
    finally:
        for worker in workers:
            worker.stop()


def model_runs(log: Path, start: int = 0) -> tuple[int, int]:
    """(requests, inputs decoded) from the inference worker's JSON log from byte `start` on;
    code that does not log `decoded` decodes every request."""
    requests = decoded = 0
    with log.open("rb") as file:
        file.seek(start)
        logged = file.read().decode("utf-8", errors="replace")
    for line in logged.splitlines():
        if '"batch annotated"' in line:
            event = json.loads(line)
            requests += event["requests"]
            decoded += event.get("decoded", event["requests"])
    return requests, decoded
