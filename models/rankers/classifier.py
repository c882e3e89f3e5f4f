"""CLASSIFIER: an attention-based CNN over the hashtags seen in training, ranked by softmax
(after Gong and Zhang, 2016). Post-only, or post + conversation with one encoder per side.

Each side: embeddings -> 1-D convolution (ReLU) -> an attention-weighted sum over positions
(the local, "trigger word" channel) and a max over positions (the global channel).
Simplified from the reference: one convolution width, attention by a learned vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from threadtag.models.batching import TextLimits, input_tensors
from threadtag.models.corpus import Example, tag_text
from threadtag.models.network import length_mask, masked_softmax
from threadtag.models.rankers.fitting import fit_best_by_dev
from threadtag.models.training import build_vocab, set_seed
from threadtag.models.vocab import Vocab


@dataclass(frozen=True)
class ClassifierConfig:
    embed_dim: int
    filters: int
    window: int
    epochs: int
    batch_size: int
    lr: float
    seed: int


class _SideEncoder(nn.Module):
    def __init__(self, embed_dim: int, filters: int, window: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(embed_dim, filters, window, padding=window // 2)
        self.attention = nn.Linear(filters, 1)

    def forward(self, embedded: Tensor, mask: Tensor) -> Tensor:
        """[B, L, E], [B, L] -> [B, 2F]."""
        h = torch.relu(self.conv(embedded.transpose(1, 2))).transpose(1, 2)[:, : mask.size(1)]
        weights = masked_softmax(self.attention(h).squeeze(-1), mask)
        local = torch.bmm(weights[:, None, :], h)[:, 0]
        global_ = h.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        return torch.cat([local, global_], dim=-1)


class AttentionCnn(nn.Module):
    def __init__(self, vocab_size: int, pad_id: int, classes: int, config: ClassifierConfig, use_conv: bool) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=pad_id)
        self.post = _SideEncoder(config.embed_dim, config.filters, config.window)
        self.conv = _SideEncoder(config.embed_dim, config.filters, config.window) if use_conv else None
        self.dropout = nn.Dropout(0.1)
        self.output = nn.Linear(2 * config.filters * (2 if use_conv else 1), classes)

    def forward(self, post: Tensor, post_len: Tensor, conv: Tensor, conv_len: Tensor) -> Tensor:
        """-> logits [B, classes]."""
        features = self.post(self.embedding(post), length_mask(post_len, post.size(1)))
        if self.conv is not None:
            side = self.conv(self.embedding(conv), length_mask(conv_len, conv.size(1)))
            features = torch.cat([features, side], dim=-1)
        return self.output(self.dropout(features))


class ClassifierRanker:
    def __init__(
        self, use_conv: bool, config: ClassifierConfig, limits: TextLimits, vocab_size: int, device: torch.device
    ) -> None:
        self.name = "CLASSIFIER (post+conv)" if use_conv else "CLASSIFIER (post only)"
        self.use_conv = use_conv
        self.config = config
        self.limits = limits
        self.vocab_size = vocab_size
        self.device = device
        self.classes: list[str] = []

    def _pairs(self, examples: Sequence[Example]) -> list[tuple[Example, int]]:
        """One (example, class) pair per gold hashtag seen in training."""
        index = {tag: i for i, tag in enumerate(self.classes)}
        return [(ex, index[tag_text(t)]) for ex in examples for t in ex.tags if tag_text(t) in index]

    def _loss(self, pairs: Sequence[tuple[Example, int]]) -> Tensor:
        logits = self.model(*input_tensors([ex for ex, _ in pairs], self.vocab, self.limits, self.device))
        targets = torch.tensor([c for _, c in pairs], device=self.device)
        return nn.functional.cross_entropy(logits, targets, reduction="sum")

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        config = self.config
        set_seed(config.seed)
        self.vocab: Vocab = build_vocab(train, self.vocab_size)
        self.classes = sorted({tag_text(t) for ex in train for t in ex.tags})
        self.model = AttentionCnn(len(self.vocab), self.vocab.pad_id, len(self.classes), config, self.use_conv)
        self.model.to(self.device)
        fit_best_by_dev(
            self.model,
            self._loss,
            self._pairs(train),
            self._pairs(dev),
            config.epochs,
            config.batch_size,
            config.lr,
            config.seed,
        )

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        ranked: list[list[str]] = []
        with torch.inference_mode():
            for start in range(0, len(examples), self.config.batch_size):
                logits = self.model(
                    *input_tensors(
                        examples[start : start + self.config.batch_size], self.vocab, self.limits, self.device
                    )
                )
                top = logits.topk(min(k, len(self.classes)), dim=-1).indices.tolist()
                ranked.extend([self.classes[i] for i in row] for row in top)
        return ranked
