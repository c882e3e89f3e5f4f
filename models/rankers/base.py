"""The interface every compared system implements: fit on examples, rank top K for examples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from models.batching import TextLimits, encode_input, make_batch
from models.corpus import Example
from models.text import DIGIT, MENTION, URL
from models.vocab import Vocab

PLACEHOLDERS = frozenset({URL, MENTION, DIGIT})


class HashtagRanker(Protocol):
    name: str

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None: ...

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        """For each example, up to k distinct hashtags (words joined by spaces), best first."""
        ...


def tag_text(tag: Sequence[str]) -> str:
    return " ".join(tag)


def tag_counts(examples: Sequence[Example]) -> Counter[str]:
    """How often each gold hashtag occurs in `examples`."""
    return Counter(tag_text(t) for ex in examples for t in ex.tags)


def is_content_word(token: str) -> bool:
    """Words that can be part of a hashtag: not placeholders, not punctuation."""
    return token not in PLACEHOLDERS and any(ch.isalnum() for ch in token)


def input_tensors(
    examples: Sequence[Example], vocab: Vocab, limits: TextLimits, device: torch.device
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(post, post_len, conv, conv_len) of the examples, padded, on `device`."""
    return make_batch([encode_input(ex, vocab, limits) for ex in examples], vocab).to(device).inputs()
