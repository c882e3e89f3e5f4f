"""Ranked hashtags for posts with their conversations, from a loaded checkpoint."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from threadtag.models.batching import EncodedPair, decode_tag, encode_input, make_batch
from threadtag.models.beam_search import SpecialIds, beam_search
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example, thread_example


@dataclass(frozen=True)
class RankedHashtag:
    tag: str  # words joined by spaces
    score: float  # log-probability under the model


def _input_key(pair: EncodedPair) -> bytes:
    """What beam search reads of an input: the ids it is given (post cut to POST_MAX_LEN,
    conversation to CONV_MAX_LEN) and the post words a copy can take."""
    return hashlib.blake2b(repr((pair.post, pair.conv, pair.post_copy, pair.oov)).encode(), digest_size=16).digest()


class HashtagPredictor:
    """Beam search over batches of examples. With `memo_size`, the answers for that many
    recent inputs are kept: an input seen again (a thread whose new replies fall beyond what
    the model reads, a final request for an unchanged thread) is not decoded again."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        beam_size: int,
        max_len: int,
        top_k: int,
        batch_size: int,
        block_repeats: bool = False,
        bf16_output: bool = False,
        memo_size: int = 0,
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
        self.memo_size = memo_size
        self.memo: OrderedDict[bytes, list[RankedHashtag]] = OrderedDict()
        self.decoded = 0  # inputs beam search ran on
        self.reused = 0  # inputs answered from the memo or from their twin in the same call

    @property
    def conv_tokens_read(self) -> int:
        """Conversation tokens beam search reads (CONV_MAX_LEN when it was trained)."""
        return self.checkpoint.limits.conv_max_len

    @property
    def device(self) -> torch.device:
        return next(self.checkpoint.model.parameters()).device

    def predict_examples(self, examples: Sequence[Example]) -> list[list[RankedHashtag]]:
        """Predictions in input order; batches are formed by length to cut padding."""
        ck = self.checkpoint
        encoded = [encode_input(ex, ck.vocab, ck.limits, ck.model.config.copies) for ex in examples]
        keys = [_input_key(pair) for pair in encoded]
        answers = {key: self._recall(key) for key in keys if key in self.memo}
        first: dict[bytes, int] = {}  # an input not answered yet -> the position that decodes it
        for i, key in enumerate(keys):
            if key not in answers:
                first.setdefault(key, i)
        todo = sorted(first.values(), key=lambda i: (len(encoded[i].conv), len(encoded[i].post)))
        for i, hyps in zip(todo, self._decode([encoded[i] for i in todo])):
            answers[keys[i]] = hyps
            self._remember(keys[i], hyps)
        self.decoded += len(todo)
        self.reused += len(examples) - len(todo)
        return [answers[key] for key in keys]

    def _decode(self, encoded: list[EncodedPair]) -> list[list[RankedHashtag]]:
        ck = self.checkpoint
        results: list[list[RankedHashtag]] = []
        for start in range(0, len(encoded), self.batch_size):
            chunk = encoded[start : start + self.batch_size]
            batch = make_batch(chunk, ck.vocab).to(self.device)
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
            for pair, post_hyps in zip(chunk, hyps):
                tags = [" ".join(decode_tag(h.tokens, ck.vocab, pair)) for h in post_hyps]
                results.append([RankedHashtag(tag, h.score) for tag, h in zip(tags, post_hyps)])
        return results

    def _remember(self, key: bytes, hyps: list[RankedHashtag]) -> None:
        if self.memo_size:
            self.memo[key] = hyps
            if len(self.memo) > self.memo_size:
                self.memo.popitem(last=False)  # the least recently used

    def _recall(self, key: bytes) -> list[RankedHashtag]:
        self.memo.move_to_end(key)
        return self.memo[key]

    def predict_thread(self, post: str, replies: Sequence[str], lang: str | None = None) -> list[RankedHashtag]:
        """Raw post text and reply texts -> ranked hashtags. Hashtags the author put at the
        start or end are removed first, as in training."""
        return self.predict_examples([thread_example(post, replies, lang or self.checkpoint.lang)])[0]
