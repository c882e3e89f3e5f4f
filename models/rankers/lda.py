"""LDA: topic words as single-word hashtags. A post's words are scored by
p(w | post) = sum_t p(t | post) p(w | t) (scikit-learn's LDA, batch variational Bayes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.feature_extraction.text import CountVectorizer

from threadtag.models.corpus import Example
from threadtag.models.rankers.base import is_content_word


def _content(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if is_content_word(t)]


class LdaRanker:
    name = "LDA"

    def __init__(self, topics: int, max_iter: int, seed: int) -> None:
        self.vectorizer = CountVectorizer(analyzer=_content, min_df=2)
        self.lda = LatentDirichletAllocation(n_components=topics, max_iter=max_iter, random_state=seed)
        self.word_given_topic: np.ndarray | None = None

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        counts = self.vectorizer.fit_transform([ex.post for ex in train])
        self.lda.fit(counts)
        components = self.lda.components_
        self.word_given_topic = components / components.sum(axis=1, keepdims=True)
        self.words = self.vectorizer.get_feature_names_out()

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        assert self.word_given_topic is not None, "fit first"
        topic_given_post = self.lda.transform(self.vectorizer.transform([ex.post for ex in examples]))
        scores = topic_given_post @ self.word_given_topic
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[str(self.words[i]) for i in row] for row in best]
