"""EXTRACTOR: hashtag words tagged in the post, the conversation as an attention memory
(after Zhang et al., 2018, as the paper's baseline).

Each post word is tagged "in a hashtag" or not: a Bi-GRU over the post, a Bi-GRU over the
conversation, bilinear attention from each post word over the conversation, a logistic
output on [h_i; context_i]. A span of the post is then scored as a hashtag by
P(its words inside) x P(its neighbours outside), and the K best spans are the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from threadtag.models.batching import TextLimits, input_tensors
from threadtag.models.corpus import Example
from threadtag.models.network import BiGRUEncoder, length_mask, masked_softmax
from threadtag.models.rankers.base import is_content_word
from threadtag.models.rankers.fitting import fit_best_by_dev
from threadtag.models.training import build_vocab, set_seed
from threadtag.models.vocab import Vocab


@dataclass(frozen=True)
class ExtractorConfig:
    embed_dim: int
    hidden_size: int
    max_span: int
    epochs: int
    batch_size: int
    lr: float
    seed: int


class TaggerWithMemory(nn.Module):
    def __init__(self, vocab_size: int, pad_id: int, config: ExtractorConfig) -> None:
        super().__init__()
        d = config.hidden_size
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=pad_id)
        self.post_encoder = BiGRUEncoder(config.embed_dim, d, 1, 0.0)
        self.conv_encoder = BiGRUEncoder(config.embed_dim, d, 1, 0.0)
        self.attention = nn.Linear(d, d, bias=False)
        self.output = nn.Linear(2 * d, 1)

    def forward(self, post: Tensor, post_len: Tensor, conv: Tensor, conv_len: Tensor) -> Tensor:
        """-> logits [B, Lp] of "this post word is in a hashtag"."""
        h_p, _ = self.post_encoder(self.embedding(post), post_len)
        h_c, _ = self.conv_encoder(self.embedding(conv), conv_len)
        scores = torch.bmm(self.attention(h_p), h_c.transpose(1, 2))
        alpha = masked_softmax(scores, length_mask(conv_len, conv.size(1))[:, None, :], dim=2)
        return self.output(torch.cat([h_p, torch.bmm(alpha, h_c)], dim=-1)).squeeze(-1)


def word_labels(example: Example, post_len: int) -> list[float]:
    """1 for post words that occur in a gold hashtag, else 0."""
    hashtag_words = {w for tag in example.tags for w in tag}
    return [1.0 if w in hashtag_words else 0.0 for w in example.post[:post_len]]


def best_spans(words: Sequence[str], inside: Sequence[float], max_span: int, k: int) -> list[str]:
    """The k distinct spans of content words with the highest
    log P(words inside) + log P(neighbours outside)."""
    eps = 1e-6
    log_in = [math.log(p + eps) for p in inside]
    log_out = [math.log(1 - p + eps) for p in inside]
    scored: dict[str, float] = {}
    for start in range(len(words)):
        total = 0.0
        for end in range(start, min(len(words), start + max_span)):
            if not is_content_word(words[end]):
                break
            total += log_in[end]
            edges = (log_out[start - 1] if start > 0 else 0.0) + (log_out[end + 1] if end + 1 < len(words) else 0.0)
            span = " ".join(words[start : end + 1])
            scored[span] = max(scored.get(span, float("-inf")), total + edges)
    return sorted(scored, key=lambda s: -scored[s])[:k]


class ExtractorRanker:
    name = "EXTRACTOR"

    def __init__(self, config: ExtractorConfig, limits: TextLimits, vocab_size: int, device: torch.device) -> None:
        self.config = config
        self.limits = limits
        self.vocab_size = vocab_size
        self.device = device

    def _loss(self, examples: Sequence[Example]) -> Tensor:
        post, post_len, conv, conv_len = input_tensors(examples, self.vocab, self.limits, self.device)
        logits = self.model(post, post_len, conv, conv_len)
        labels, mask = torch.zeros_like(logits), torch.zeros_like(logits)
        for row, ex in enumerate(examples):
            values = word_labels(ex, self.limits.post_max_len)  # none for an empty post (encoded as </s>)
            labels[row, : len(values)] = torch.tensor(values, device=self.device)
            mask[row, : len(values)] = 1.0
        losses = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        return (losses * mask).sum()

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        config = self.config
        set_seed(config.seed)
        self.vocab: Vocab = build_vocab(train, self.vocab_size)
        self.model = TaggerWithMemory(len(self.vocab), self.vocab.pad_id, config).to(self.device)
        fit_best_by_dev(
            self.model, self._loss, list(train), list(dev), config.epochs, config.batch_size, config.lr, config.seed
        )

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        ranked: list[list[str]] = []
        with torch.inference_mode():
            for start in range(0, len(examples), self.config.batch_size):
                chunk = examples[start : start + self.config.batch_size]
                inside = torch.sigmoid(self.model(*input_tensors(chunk, self.vocab, self.limits, self.device))).tolist()
                for ex, probs in zip(chunk, inside):
                    words = ex.post[: self.limits.post_max_len]
                    ranked.append(best_spans(words, probs[: len(words)], self.config.max_span, k))
        return ranked
