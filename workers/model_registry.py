"""The model_versions table as a registry: which versions exist, which one is active."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert

from threadtag.models.checkpoint import Checkpoint
from threadtag.schemas.tables import ModelVersionRow

Activate = Literal["always", "if_none", "never"]


@dataclass(frozen=True)
class RegisteredModel:
    version: str
    path: str


def active_model(engine: Engine) -> RegisteredModel | None:
    with engine.connect() as conn:
        row = conn.execute(select(ModelVersionRow.version, ModelVersionRow.path).where(ModelVersionRow.active)).first()
    return RegisteredModel(row.version, row.path) if row else None


def versions_newest_first(engine: Engine) -> list[RegisteredModel]:
    """Every version, the most recently activated first, then the newest registered."""
    order = (ModelVersionRow.activated_at.desc().nulls_last(), ModelVersionRow.created_at.desc())
    with engine.connect() as conn:
        rows = conn.execute(select(ModelVersionRow.version, ModelVersionRow.path).order_by(*order)).all()
    return [RegisteredModel(row.version, row.path) for row in rows]


def register_model_version(
    engine: Engine,
    version: str,
    path: str,
    metrics: dict[str, Any],
    activate: Activate = "if_none",
    **record: Any,
) -> bool:
    """Insert the version if new (with `record`: decision, parent_version, training_data,
    train_examples) and activate it: `always`, `if_none` is active (a first deployment), or
    `never`. Returns whether it is the active version now."""
    with engine.begin() as conn:
        conn.execute(
            insert(ModelVersionRow)
            .values(version=version, path=path, metrics=metrics, active=False, **record)
            .on_conflict_do_nothing(index_elements=["version"])
        )
        # Row lock on the active row: two registrations at once must not both find none.
        current = conn.execute(select(ModelVersionRow.version).where(ModelVersionRow.active).with_for_update()).scalar()
        if activate == "always" or (activate == "if_none" and current is None):
            if current != version:
                conn.execute(update(ModelVersionRow).where(ModelVersionRow.active).values(active=False))
                conn.execute(
                    update(ModelVersionRow)
                    .where(ModelVersionRow.version == version)
                    .values(active=True, activated_at=func.now())
                )
            return True
        return current == version


def register_checkpoint(engine: Engine, checkpoint: Checkpoint, path: Path, activate: Activate) -> bool:
    """Register a checkpoint a worker or the main job serves, with what its training recorded."""
    training = checkpoint.training
    return register_model_version(
        engine,
        checkpoint.version,
        str(path.resolve()),
        {"best_dev_loss": training.get("best_dev_loss")},
        activate,
        decision="registered",
        train_examples=training.get("train_examples"),
    )
