"""From examples to padded id tensors: truncation limits, one pair per gold hashtag, batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor

from threadtag.models.corpus import Example
from threadtag.models.vocab import Vocab


@dataclass(frozen=True)
class TextLimits:
    post_max_len: int
    conv_max_len: int
    tag_max_len: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class EncodedPair:
    """Ids of one input (post, conversation) and, for training, one gold hashtag.

    For the copy variant, `post_copy` holds the post in the extended vocabulary: a post word
    outside the vocabulary gets id len(vocab) + its index in `oov`; `tag` uses the same ids."""

    post: list[int]
    conv: list[int]
    tag: list[int] | None = None
    post_copy: list[int] | None = None
    oov: tuple[str, ...] = ()


def encode_input(example: Example, vocab: Vocab, limits: TextLimits, copy: bool = False) -> EncodedPair:
    # An empty side is the single token </s> ("nothing here"): encoders need length >= 1.
    words = example.post[: limits.post_max_len]
    post = vocab.encode(words) or [vocab.eos_id]
    conv = vocab.encode(example.conv[: limits.conv_max_len]) or [vocab.eos_id]
    if not copy:
        return EncodedPair(post, conv)
    pair = EncodedPair(post, conv, oov=tuple(dict.fromkeys(w for w in words if w not in vocab.stoi)))
    return replace(pair, post_copy=encode_tag(words, vocab, pair) or [vocab.eos_id])


def encode_tag(tag: Sequence[str], vocab: Vocab, pair: EncodedPair) -> list[int]:
    """Word ids; with the copy variant, words only the post has get their extended id."""
    extended = {w: len(vocab) + i for i, w in enumerate(pair.oov)}
    return [vocab.stoi.get(w, extended.get(w, vocab.unk_id)) for w in tag]


def decode_tag(ids: Sequence[int], vocab: Vocab, pair: EncodedPair) -> list[str]:
    return [vocab.itos[i] if i < len(vocab) else pair.oov[i - len(vocab)] for i in ids]


def training_pairs(
    examples: Sequence[Example], vocab: Vocab, limits: TextLimits, copy: bool = False
) -> list[EncodedPair]:
    """One pair per gold hashtag: a post with several tags is repeated (paper, section 2)."""
    pairs = []
    for example in examples:
        encoded = encode_input(example, vocab, limits, copy)
        for tag in example.tags:
            ids = encode_tag(tag[: limits.tag_max_len], vocab, encoded)
            pairs.append(EncodedPair(encoded.post, encoded.conv, ids, encoded.post_copy, encoded.oov))
    return pairs


@dataclass
class Batch:
    post: Tensor
    post_len: Tensor
    conv: Tensor
    conv_len: Tensor
    target_in: Tensor | None = None  # <s> y_1 ... y_n
    target_out: Tensor | None = None  # y_1 ... y_n </s>
    post_copy: Tensor | None = None  # copy variant: the post in extended ids

    def to(self, device: torch.device) -> Batch:
        return Batch(*(None if t is None else t.to(device, non_blocking=True) for t in self.tensors()))

    def tensors(self) -> tuple[Tensor | None, ...]:
        return (self.post, self.post_len, self.conv, self.conv_len, self.target_in, self.target_out, self.post_copy)

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
    post_copy = None if pairs[0].post_copy is None else pad([p.post_copy or [] for p in pairs], vocab.pad_id)[0]
    if any(p.tag is None for p in pairs):
        return Batch(post, post_len, conv, conv_len, post_copy=post_copy)
    # The decoder reads extended ids as <unk> (HashtagGenerator._embed_input) and predicts them as they are.
    target_in, _ = pad([[vocab.bos_id, *p.tag] for p in pairs], vocab.pad_id)  # type: ignore[misc]
    target_out, _ = pad([[*p.tag, vocab.eos_id] for p in pairs], vocab.pad_id)  # type: ignore[misc]
    return Batch(post, post_len, conv, conv_len, target_in, target_out, post_copy)


def input_tensors(
    examples: Sequence[Example], vocab: Vocab, limits: TextLimits, device: torch.device
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(post, post_len, conv, conv_len) of the examples, padded, on `device`."""
    return make_batch([encode_input(ex, vocab, limits) for ex in examples], vocab).to(device).inputs()
