"""RETRIEVAL: the labelled training posts most like a post vote for their hashtags
(models/retrieval.py); the strongest baseline on our data."""

from __future__ import annotations

from collections.abc import Sequence

from threadtag.models.corpus import Example
from threadtag.models.retrieval import RetrievalConfig, RetrievalIndex


class RetrievalRanker:
    name = "RETRIEVAL"

    def __init__(self, config: RetrievalConfig) -> None:
        self.config = config
        self.index: RetrievalIndex | None = None

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        self.index = RetrievalIndex.fit(train, self.config)
        self.index.add_training_posts(train)

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        assert self.index is not None, "fit first"
        return [votes.ranked()[:k] for votes in self.index.votes(examples)]
