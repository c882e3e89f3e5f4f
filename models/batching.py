"""From examples to padded id tensors: truncation limits, one pair per gold hashtag, batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from models.corpus import Example
from models.vocab import Vocab


@dataclass(frozen=True)
class TextLimits:
    post_max_len: int
    conv_max_len: int
    tag_max_len: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class EncodedPair:
    """Ids of one input (post, conversation) and, for training, one gold hashtag."""

    post: list[int]
    conv: list[int]
    tag: list[int] | None = None


def encode_input(example: Example, vocab: Vocab, limits: TextLimits) -> EncodedPair:
    # An empty side is the single token </s> ("nothing here"): encoders need length >= 1.
    post = vocab.encode(example.post[: limits.post_max_len]) or [vocab.eos_id]
    conv = vocab.encode(example.conv[: limits.conv_max_len]) or [vocab.eos_id]
    return EncodedPair(post, conv)


def training_pairs(examples: Sequence[Example], vocab: Vocab, limits: TextLimits) -> list[EncodedPair]:
    """One pair per gold hashtag: a post with several tags is repeated (paper, section 2)."""
    pairs = []
    for example in examples:
        encoded = encode_input(example, vocab, limits)
        for tag in example.tags:
            pairs.append(EncodedPair(encoded.post, encoded.conv, vocab.encode(tag[: limits.tag_max_len])))
    return pairs


@dataclass
class Batch:
    post: Tensor
    post_len: Tensor
    conv: Tensor
    conv_len: Tensor
    target_in: Tensor | None = None  # <s> y_1 ... y_n
    target_out: Tensor | None = None  # y_1 ... y_n </s>

    def to(self, device: torch.device) -> Batch:
        return Batch(*(None if t is None else t.to(device, non_blocking=True) for t in self.tensors()))

    def tensors(self) -> tuple[Tensor | None, ...]:
        return (self.post, self.post_len, self.conv, self.conv_len, self.target_in, self.target_out)

    def inputs(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.post, self.post_len, self.conv, self.conv_len

    @property
    def size(self) -> int:
        return int(self.post.size(0))


def pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out, lengths


def make_batch(pairs: Sequence[EncodedPair], vocab: Vocab) -> Batch:
    post, post_len = pad([p.post for p in pairs], vocab.pad_id)
    conv, conv_len = pad([p.conv for p in pairs], vocab.pad_id)
    if any(p.tag is None for p in pairs):
        return Batch(post, post_len, conv, conv_len)
    target_in, _ = pad([[vocab.bos_id, *p.tag] for p in pairs], vocab.pad_id)  # type: ignore[misc]
    target_out, _ = pad([[*p.tag, vocab.eos_id] for p in pairs], vocab.pad_id)  # type: ignore[misc]
    return Batch(post, post_len, conv, conv_len, target_in, target_out)
