"""A checkpoint is one file: weights, vocabulary, model config, text limits and a version id."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from models.batching import TextLimits
from models.network import HashtagGenerator, ModelConfig
from models.vocab import Vocab

FORMAT = 1


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
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
        }
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path, device: torch.device | str = "cpu") -> Checkpoint:
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        try:
            payload = torch.load(path, map_location=device, weights_only=True)
        except Exception as exc:  # torch raises many types for a corrupt or foreign file
            raise ValueError(f"{path} is not a threadtag checkpoint: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path} is not a threadtag checkpoint of format {FORMAT}")
        model = HashtagGenerator(ModelConfig(**payload["config"]))
        model.load_state_dict(payload["state_dict"])
        model.to(device).eval()
        return cls(
            model=model,
            vocab=Vocab(list(payload["vocab"])),
            limits=TextLimits(**payload["limits"]),
            lang=payload["lang"],
            version=payload["version"],
            training=payload.get("training", {}),
        )
