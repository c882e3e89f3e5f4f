"""TF-IDF: the post's own n-grams (n <= max_n) ranked by TF-IDF, IDF from the training posts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence

from threadtag.models.corpus import Example
from threadtag.models.rankers.base import is_content_word


def ngrams(tokens: Sequence[str], max_n: int) -> Iterator[tuple[str, ...]]:
    """Every n-gram (n <= max_n) made only of content words, in order of position then length."""
    for start in range(len(tokens)):
        for n in range(1, max_n + 1):
            gram = tuple(tokens[start : start + n])
            if len(gram) < n or not is_content_word(gram[-1]):
                break
            yield gram


class TfidfRanker:
    name = "TF-IDF"

    def __init__(self, max_n: int) -> None:
        self.max_n = max_n
        self.doc_freq: Counter[tuple[str, ...]] = Counter()
        self.docs = 0

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        self.doc_freq = Counter(gram for ex in train for gram in set(ngrams(ex.post, self.max_n)))
        self.docs = len(train)

    def idf(self, gram: tuple[str, ...]) -> float:
        return math.log((1 + self.docs) / (1 + self.doc_freq[gram])) + 1.0  # smoothed, never 0

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        ranked = []
        for ex in examples:
            tf = Counter(ngrams(ex.post, self.max_n))
            # Ties: the earlier n-gram first (Counter keeps first-seen order; sorted is stable).
            best = sorted(tf, key=lambda g: -tf[g] * self.idf(g))[:k]
            ranked.append([" ".join(g) for g in best])
        return ranked
