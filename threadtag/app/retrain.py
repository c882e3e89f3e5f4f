"""The retrain command: once or on a schedule, with the settings' training recipe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import typer
from sqlalchemy import Engine

from threadtag.app import configs, recipes
from threadtag.app.lifecycle import migrated_engine, stop_on_signals
from threadtag.core.failures import UsageError
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example
from threadtag.workers.retraining import Recipe, RetrainOutcome, retrain
from threadtag.workers.schedule import next_time, run_periodically
from threadtag.workers.training_set import Candidate, file_candidates


def recipe(settings: Settings, progress: bool) -> Recipe:
    """Training and scoring as the settings say, for retraining."""

    def fit(train: list[Example], dev: list[Example], init: Checkpoint | None) -> Checkpoint:
        return recipes.fit(
            settings, train, dev, max_epochs=settings.retrain_max_epochs, progress=progress, init=init, with_ranker=True
        )

    return Recipe(
        fit,
        lambda checkpoint: recipes.predictor(checkpoint, settings),
        configs.device(settings),
        recipes.bundled_sample_ids(),
    )


def retrain_once(
    settings: Settings, engine: Engine, extra: Sequence[Candidate] = (), progress: bool = True
) -> RetrainOutcome:
    return retrain(settings, engine, recipe(settings, progress), extra, progress)


def run_retrain(
    settings: Settings,
    weibo: Sequence[Path],
    tweets: Sequence[Path],
    every: str | None,
    cron: str | None,
    progress: bool,
) -> None:
    """Retrain now, or now and then on the schedule (`every` or `cron`) until SIGTERM."""
    if every is not None and cron is not None:
        raise UsageError("give --every or --cron, not both")
    if every is not None or cron is not None:
        try:
            next_time(datetime.now(timezone.utc), every, cron)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    missing = [str(p) for p in [*weibo, *tweets] if not p.exists()]
    if missing:
        raise UsageError(f"not found: {', '.join(missing)}")
    engine = migrated_engine(settings)

    def once() -> None:
        outcome = retrain_once(settings, engine, file_candidates(weibo, tweets), progress)
        typer.echo(f"{outcome.decision}: {outcome.version or '-'} ({outcome.reason})")

    try:
        if every is None and cron is None:
            once()
        else:
            run_periodically(once, every, cron, stop_on_signals(settings.shutdown_timeout_seconds))
    finally:
        engine.dispose()
