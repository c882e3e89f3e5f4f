"""The generator's memo: an input seen again is answered without beam search, with exactly
what decoding it gives; what lies beyond CONV_MAX_LEN is not part of the input; the least
recently used input goes first."""

from __future__ import annotations

from dataclasses import replace

import pytest

from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example


def _predictor(model, memo_size: int):  # noqa: ANN001, ANN202
    settings = Settings().model_copy(update={"generator_memo_size": memo_size})
    return recipes.generator_predictor(Checkpoint.load(model), settings, memo=True)


def _same(got: list, want: list) -> bool:  # type: ignore[type-arg]
    """Equal tags, equal scores up to float noise (another batch pads the same input otherwise)."""
    tags = [[h.tag for h in hs] for hs in got] == [[h.tag for h in hs] for hs in want]
    scores = [h.score for hs in got for h in hs] == pytest.approx([h.score for hs in want for h in hs], abs=1e-4)
    return tags and scores


def test_an_input_seen_again_is_not_decoded_again_and_gets_the_decoded_answer(sample_model):
    plain, memo = _predictor(sample_model, 0), _predictor(sample_model, 100)
    bound, words = memo.checkpoint.limits.conv_max_len, memo.checkpoint.vocab.itos[10:20]  # known words
    thread = Example(words[:5], [words[5]] * bound, [], "en")
    grown = replace(thread, conv=thread.conv + words)  # the new replies fall beyond the bound: reads the same
    other = replace(thread, conv=[words[6], *thread.conv[1:]])  # a word within the bound changed
    first = memo.predict_examples([thread])
    assert (memo.decoded, memo.reused) == (1, 0)
    again = memo.predict_examples([grown, thread, other, other])
    assert (memo.decoded, memo.reused) == (2, 3)  # `other` decoded once; its twin and the two old ones reused
    expected = plain.predict_examples([thread, other])
    assert _same(first, [expected[0]]) and _same(again, [expected[0], expected[0], expected[1], expected[1]])
    assert (plain.decoded, plain.reused, len(plain.memo)) == (2, 0, 0)  # no memo: nothing kept


def test_the_memo_keeps_its_size_and_drops_the_least_recently_used(sample_model):
    memo = _predictor(sample_model, 2)
    a, b, c = (Example([word], [], [], "en") for word in memo.checkpoint.vocab.itos[10:13])
    memo.predict_examples([a])
    memo.predict_examples([b])
    memo.predict_examples([a])  # a used again: b is now the oldest
    memo.predict_examples([c])  # b goes
    assert len(memo.memo) == 2 and (memo.decoded, memo.reused) == (3, 1)
    memo.predict_examples([a, b])
    assert (memo.decoded, memo.reused) == (4, 2)  # a kept, b decoded again
