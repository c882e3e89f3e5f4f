"""Ranked hashtags for posts with their conversations, from a loaded checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from threadtag.models.batching import decode_tag, encode_input, make_batch
from threadtag.models.beam_search import SpecialIds, beam_search
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example, thread_example


@dataclass(frozen=True)
class RankedHashtag:
    tag: str  # words joined by spaces
    score: float  # log-probability under the model


class HashtagPredictor:
    def __init__(
        self,
        checkpoint: Checkpoint,
        beam_size: int,
        max_len: int,
        top_k: int,
        batch_size: int,
        block_repeats: bool = False,
        bf16_output: bool = False,
    ) -> None:
        if not 1 <= top_k <= beam_size:
            raise ValueError(f"top-k must be between 1 and the beam size ({beam_size}), not {top_k}")
        self.checkpoint = checkpoint
        self.block_repeats = block_repeats
        if bf16_output:
            checkpoint.model.output_in_bf16()
        self.beam_size = beam_size
        self.max_len = max_len
        self.top_k = top_k
        self.batch_size = batch_size
        vocab = checkpoint.vocab
        self.specials = SpecialIds(bos=vocab.bos_id, eos=vocab.eos_id, never=(vocab.unk_id, vocab.pad_id, vocab.bos_id))

    @property
    def device(self) -> torch.device:
        return next(self.checkpoint.model.parameters()).device

    def predict_examples(self, examples: Sequence[Example]) -> list[list[RankedHashtag]]:
        """Predictions in input order; batches are formed by length to cut padding."""
        ck = self.checkpoint
        encoded = [encode_input(ex, ck.vocab, ck.limits, ck.model.config.copies) for ex in examples]
        order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i].conv), len(encoded[i].post)))
        results: list[list[RankedHashtag]] = [[] for _ in examples]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = make_batch([encoded[i] for i in chunk], ck.vocab).to(self.device)
            hyps = beam_search(
                ck.model,
                batch.inputs(),
                self.specials,
                self.beam_size,
                self.max_len,
                self.top_k,
                batch.post_copy,
                self.block_repeats,
            )
            for i, post_hyps in zip(chunk, hyps):
                results[i] = [
                    RankedHashtag(" ".join(decode_tag(h.tokens, ck.vocab, encoded[i])), h.score) for h in post_hyps
                ]
        return results

    def predict_thread(self, post: str, replies: Sequence[str], lang: str | None = None) -> list[RankedHashtag]:
        """Raw post text and reply texts -> ranked hashtags. Hashtags the author put at the
        start or end are removed first, as in training."""
        return self.predict_examples([thread_example(post, replies, lang or self.checkpoint.lang)])[0]
