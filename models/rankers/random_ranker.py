"""RANDOM: hashtags seen in training, in a random (seeded) order for each post."""

from __future__ import annotations

import random
from collections.abc import Sequence

from threadtag.models.corpus import Example
from threadtag.models.rankers.base import tag_counts


class RandomRanker:
    name = "RANDOM"

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.tags: list[str] = []

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        self.tags = sorted(tag_counts(train))

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        rng = random.Random(self.seed)
        return [rng.sample(self.tags, min(k, len(self.tags))) for _ in examples]
