"""One retraining run: data from the stream, a new model, the evaluation gate, registration.

Only one run at a time across all machines: a session-level Postgres advisory lock is
taken without waiting, and a run that cannot get it trains nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import structlog
import torch
from sqlalchemy import Engine, text

from threadtag.core.settings import Settings
from threadtag.models.annotator import Annotator
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example
from threadtag.models.evaluation import evaluate
from threadtag.models.metrics import Scores
from threadtag.models.rankers.most_frequent import most_frequent_scores
from threadtag.workers.model_registry import active_model, register_model_version
from threadtag.workers.training_set import (
    Candidate,
    select,
    split_by_time,
    stream_candidates,
    unseen_by,
    vocab_coverage,
)

log = structlog.get_logger(__name__)

_RETRAIN_LOCK = 0x7468_7461_6772  # "thtagr"; not the migrations' key


@dataclass(frozen=True)
class Recipe:
    """How a run trains and scores, given by its composition root (app/retrain.py)."""

    fit: Callable[[list[Example], list[Example], Checkpoint | None], Checkpoint]  # (train, dev, warm start)
    predictor: Callable[[Checkpoint], Annotator]
    device: torch.device
    bundled_sample: frozenset[str] = frozenset()  # ids that never train (the replayed sample)


@dataclass(frozen=True)
class RetrainOutcome:
    decision: str  # activated | rejected | skipped
    reason: str
    version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@contextmanager
def trainer_lock(engine: Engine) -> Iterator[bool]:
    """Hold the retrain lock for the block if no other session holds it; yields whether it was got."""
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _RETRAIN_LOCK}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _RETRAIN_LOCK})
                conn.commit()


def _load_active(engine: Engine, recipe: Recipe) -> Checkpoint | None:
    active = active_model(engine)
    if active is None:
        return None
    try:
        return Checkpoint.load(Path(active.path), recipe.device)
    except (OSError, ValueError) as exc:
        log.warning("active model cannot be loaded: no warm start and no comparison", error=str(exc))
        return None


def _heldout_scores(checkpoint: Checkpoint, examples: Sequence[Example], recipe: Recipe, progress: bool) -> Scores:
    return evaluate(recipe.predictor(checkpoint), examples, progress).scores


def retrain(
    settings: Settings, engine: Engine, recipe: Recipe, extra: Sequence[Candidate] = (), progress: bool = True
) -> RetrainOutcome:
    """Train on what the stream stored (after `extra`, taken as older), gate, register."""
    with trainer_lock(engine) as held:
        if not held:
            log.info("retrain skipped: another run holds the lock")
            return RetrainOutcome("skipped", "another retrain is running")
        return _retrain_locked(settings, engine, recipe, extra, progress)


def _retrain_locked(
    settings: Settings, engine: Engine, recipe: Recipe, extra: Sequence[Candidate], progress: bool
) -> RetrainOutcome:
    active = _load_active(engine, recipe)
    lang = settings.retrain_lang or (active.lang if active else "en")
    since = None
    if settings.retrain_window_days is not None:
        since = datetime.now(timezone.utc) - timedelta(days=settings.retrain_window_days)
    data = select([*extra, *stream_candidates(engine, since, recipe.bundled_sample)], lang, settings)
    log.info("retrain data", lang=lang, **data.record())
    if len(data.examples) < settings.retrain_min_examples:
        minimum = settings.retrain_min_examples
        reason = f"{len(data.examples)} usable examples, fewer than RETRAIN_MIN_EXAMPLES={minimum}"
        log.info("retrain skipped", reason=reason)
        return RetrainOutcome("skipped", reason)
    train, dev, heldout = split_by_time(data.examples, settings.retrain_holdout_fraction, settings.retrain_dev_fraction)
    # Posts the active model trained on would favour it: the gate scores both on the rest,
    # and with none left there is nothing to train for.
    gate = unseen_by(active, heldout)
    if not gate:
        reason = f"all {len(heldout)} held-out posts were in the active model's training data: nothing to judge on"
        log.info("retrain skipped", reason=reason)
        return RetrainOutcome("skipped", reason)
    if active is not None and not unseen_by(active, [*train, *dev]):
        reason = f"no new data: the active model {active.version} trained on all {len(train) + len(dev)} posts"
        log.info("retrain skipped", reason=reason)
        return RetrainOutcome("skipped", reason)
    init = None
    if settings.retrain_warm_start and active is not None and active.lang == lang:
        coverage = vocab_coverage(active.vocab.stoi, train)
        if coverage >= settings.retrain_min_vocab_coverage:
            init = active
        log.info("active model vocabulary", coverage=round(coverage, 3), warm_start=init is not None)
    checkpoint = recipe.fit(train, dev, init)
    path = checkpoint.save(settings.model_dir.resolve() / f"{checkpoint.version}.pt")

    new = _heldout_scores(checkpoint, gate, recipe, progress)
    old = _heldout_scores(active, gate, recipe, progress) if active else None
    floor = most_frequent_scores(train, gate)
    # A model no better than naming the most frequent hashtags for every post is not worth serving.
    beats_floor = new.f1_at_1 > floor.f1_at_1
    accepted = beats_floor and (old is None or new.f1_at_1 >= old.f1_at_1 - settings.retrain_f1_tolerance)
    decision = "activated" if accepted else "rejected"
    metrics = {
        "heldout": new.as_dict(),
        "most_frequent_baseline": floor.as_dict(),
        "compared_with": {"version": active.version, "heldout": old.as_dict()} if active and old else None,
        "f1_tolerance": settings.retrain_f1_tolerance,
        "best_dev_loss": checkpoint.training["best_dev_loss"],
        "epochs": len(checkpoint.training["epochs"]),
    }
    if not accepted and not settings.retrain_keep_rejected:
        path.unlink()  # its row keeps the scores; retraining daily would otherwise fill the disk
    metrics["checkpoint_kept"] = path.exists()
    record = {
        **data.record(),
        "since": since.isoformat() if since else None,
        "train": len(train),
        "dev": len(dev),
        "heldout": len(heldout),
        "gate": len(gate),
        "lang": lang,
    }
    register_model_version(
        engine,
        checkpoint.version,
        str(path),
        metrics,
        "always" if accepted else "never",
        decision=decision,
        parent_version=init.version if init else None,
        training_data=record,
        train_examples=len(train),
    )
    tolerance = 100 * settings.retrain_f1_tolerance
    reason = (
        f"F1@1 {100 * new.f1_at_1:.2f} vs active {100 * old.f1_at_1:.2f} (tolerance {tolerance:.2f})"
        if old
        else "no active model to compare with"
    )
    if not beats_floor:
        reason = f"F1@1 {100 * new.f1_at_1:.2f} is no better than the most frequent hashtags' {100 * floor.f1_at_1:.2f}"
    log.info("retrain done", version=checkpoint.version, decision=decision, reason=reason, path=str(path))
    return RetrainOutcome(decision, reason, checkpoint.version, metrics)
