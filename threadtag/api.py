"""Hashtags for threads from Python code: load a checkpoint, give it threads, get ranked hashtags.

    from threadtag.api import load

    tagger = load("runs/model.pt")
    tagger.predict("Rain all day in London", ["bring an umbrella", "same in Leeds"])
    # [RankedHashtag(tag='london', score=...), ...]

The same path as the inference worker: the hybrid ranker where the checkpoint carries one
(HYBRID), else the generator's beam search; settings come from the environment unless given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from threadtag.app import recipes
from threadtag.core.settings import Settings, get_settings
from threadtag.models.annotator import Annotator
from threadtag.models.corpus import thread_example
from threadtag.models.predictor import RankedHashtag

__all__ = ["RankedHashtag", "Tagger", "Thread", "load"]


@dataclass(frozen=True)
class Thread:
    """A post that starts a conversation, and its replies in time order."""

    post: str
    replies: Sequence[str] = field(default_factory=tuple)
    lang: str | None = None  # "en" or "zh"; None: the checkpoint's language


class Tagger:
    """A loaded checkpoint, ready to rank hashtags for threads."""

    def __init__(self, annotator: Annotator) -> None:
        self._annotator = annotator

    @property
    def version(self) -> str:
        return self._annotator.checkpoint.version

    @property
    def lang(self) -> str:
        return self._annotator.checkpoint.lang

    def predict(self, post: str, replies: Sequence[str] = (), lang: str | None = None) -> list[RankedHashtag]:
        """Ranked hashtags (best first, TOP_K of them) for one post and its replies. Hashtags
        the author put at the start or end of the post are taken off first, as in training."""
        return self.predict_many([Thread(post, replies, lang)])[0]

    def predict_many(self, threads: Iterable[Thread]) -> list[list[RankedHashtag]]:
        """predict for many threads, batched as the inference worker batches them."""
        examples = [thread_example(t.post, list(t.replies), t.lang or self.lang) for t in threads]
        return self._annotator.predict_examples(examples) if examples else []


def load(path: str | Path, settings: Settings | None = None, top_k: int | None = None) -> Tagger:
    """The checkpoint at `path` (written by `threadtag train` or `retrain`); CheckpointError
    where it is missing or not one. `settings`: default, the environment's (BEAM_SIZE, TOP_K,
    HYBRID, DEVICE, ...); `top_k`: how many hashtags each answer holds."""
    settings = settings or get_settings()
    return Tagger(recipes.predictor(Path(path), settings, top_k))
