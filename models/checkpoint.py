"""A checkpoint is one file: weights, vocabulary, model config, text limits and a version id,
and, for the hybrid path, the ranker's plain data (models/annotator.py: HybridModel.state)."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from threadtag.models.batching import TextLimits
from threadtag.models.network import BEFORE_SWITCHES, HashtagGenerator, ModelConfig
from threadtag.models.vocab import Vocab

FORMAT = 1


class CheckpointError(ValueError):
    """The file is missing, unreadable or not a threadtag checkpoint."""


def new_version_id(variant: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{variant}-{uuid.uuid4().hex[:6]}"


@dataclass
class Checkpoint:
    model: HashtagGenerator
    vocab: Vocab
    limits: TextLimits
    lang: str
    version: str
    training: dict[str, Any] = field(default_factory=dict)
    ranker: dict[str, Any] | None = None

    def save(self, path: Path) -> Path:
        """Write atomically (temp file + rename) so a reader never sees half a checkpoint."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "version": self.version,
            "lang": self.lang,
            "config": self.model.config.to_dict(),
            "limits": self.limits.to_dict(),
            "vocab": self.vocab.itos,
            "training": self.training,
            "ranker": self.ranker,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
        }
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path, device: torch.device | str = "cpu") -> Checkpoint:
        if not path.is_file():
            raise CheckpointError(f"no checkpoint at {path}")
        try:
            payload = torch.load(path, map_location=device, weights_only=True)
        except Exception as exc:  # torch raises many types for a corrupt or foreign file
            # torch follows the reason with paragraphs of advice (weights_only=False) that do not apply
            reason = re.split(r"(?<=\.)\s", str(exc).strip() or type(exc).__name__)[0]
            raise CheckpointError(f"{path} is not a threadtag checkpoint: {reason}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not a threadtag checkpoint of format {FORMAT}")
        model = HashtagGenerator(ModelConfig(**{**BEFORE_SWITCHES, **payload["config"]}))
        model.load_state_dict(payload["state_dict"])
        model.to(device).eval()
        return cls(
            model=model,
            vocab=Vocab(list(payload["vocab"])),
            limits=TextLimits(**payload["limits"]),
            lang=payload["lang"],
            version=payload["version"],
            training=payload.get("training", {}),
            ranker=payload.get("ranker"),
        )
