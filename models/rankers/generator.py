"""The seq2seq hashtag generators (the paper's model and its Table 6 variants) as rankers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example
from threadtag.models.predictor import HashtagPredictor

log = structlog.get_logger(__name__)


class GeneratorRanker:
    """Trains with `train_fn` (or loads `checkpoint_path` when it exists: a previous run's
    model for the same data), ranks with beam search."""

    def __init__(
        self,
        name: str,
        train_fn: Callable[[Sequence[Example], Sequence[Example]], Checkpoint],
        make_predictor: Callable[[Checkpoint], HashtagPredictor],
        checkpoint_path: Path | None = None,
    ) -> None:
        self.name = name
        self.train_fn = train_fn
        self.make_predictor = make_predictor
        self.checkpoint_path = checkpoint_path
        self.predictor: HashtagPredictor | None = None

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        path = self.checkpoint_path
        if path is not None and path.is_file():
            log.info("reusing checkpoint", system=self.name, path=str(path))
            checkpoint = Checkpoint.load(path)
        else:
            checkpoint = self.train_fn(train, dev)
            if path is not None:
                checkpoint.save(path)
        self.predictor = self.make_predictor(checkpoint)

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        assert self.predictor is not None, "fit first"
        return [[h.tag for h in hyps[:k]] for hyps in self.predictor.predict_examples(examples)]
