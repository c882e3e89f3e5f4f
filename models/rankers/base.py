"""The interface every compared system implements: fit on examples, rank top K for examples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from threadtag.models.corpus import Example, tag_text
from threadtag.models.text import DIGIT, MENTION, URL

PLACEHOLDERS = frozenset({URL, MENTION, DIGIT})


class HashtagRanker(Protocol):
    name: str

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None: ...

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        """For each example, up to k distinct hashtags (words joined by spaces), best first."""
        ...


def tag_counts(examples: Sequence[Example]) -> Counter[str]:
    """How often each gold hashtag occurs in `examples`."""
    return Counter(tag_text(t) for ex in examples for t in ex.tags)


def is_content_word(token: str) -> bool:
    """Words that can be part of a hashtag: not placeholders, not punctuation."""
    return token not in PLACEHOLDERS and any(ch.isalnum() for ch in token)
