"""MOST FREQUENT: every post gets the training set's most frequent hashtags; the floor a
trained model must clear to be worth serving (the retrain gate, `train`'s warning)."""

from __future__ import annotations

from collections.abc import Sequence

from threadtag.models.corpus import Example
from threadtag.models.evaluation import score_ranked
from threadtag.models.metrics import Scores
from threadtag.models.rankers.base import tag_counts


class MostFrequentRanker:
    name = "MOST FREQUENT"

    def __init__(self) -> None:
        self.tags: list[str] = []

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        counts = tag_counts(train)
        self.tags = sorted(counts, key=lambda tag: (-counts[tag], tag))  # ties by name: the same on every run

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        return [self.tags[:k] for _ in examples]


def most_frequent_scores(train: Sequence[Example], examples: Sequence[Example], k: int = 5) -> Scores:
    """What naming the training set's most frequent hashtags for every post scores on `examples`."""
    floor = MostFrequentRanker()
    floor.fit(train, [])
    return score_ranked(floor.rank(examples, k), examples)
