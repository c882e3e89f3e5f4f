"""The copy variant generates post words that are not in its vocabulary; plain seq2seq cannot."""

from __future__ import annotations

import random

import pytest

from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.corpus import Example

pytestmark = pytest.mark.slow


def _examples(count: int, seed: int) -> list[Example]:
    """'<name> is trending now' tagged #<name>: every name is new, so none enters the vocabulary."""
    rng = random.Random(seed)
    letters = "bcdfghjklmnpqrstvwxz"
    examples = []
    for _ in range(count):
        name = "".join(rng.choice(letters) for _ in range(6))
        examples.append(Example([name, "is", "trending", "now"], ["wow", "really"], [[name]], "en"))
    return examples


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(
        embed_dim=16,
        hidden_size=32,
        encoder_layers=1,
        train_lr=0.01,
        train_max_epochs=25,
        train_patience=25,
        train_batch_size=16,
        vocab_size_en=12,
        beam_size=5,
    )


def test_copying_generates_a_word_outside_the_vocabulary(settings):
    checkpoint = recipes.fit(settings, _examples(200, 0), _examples(20, 1), variant="seq2seq_copy", progress=False)
    assert "qwzzkt" not in checkpoint.vocab.stoi
    ranked = recipes.predictor(checkpoint, settings).predict_examples(
        [Example(["qwzzkt", "is", "trending", "now"], ["wow"], [["qwzzkt"]], "en")]
    )[0]
    assert ranked[0].tag == "qwzzkt"


def test_without_copying_such_a_word_never_comes_out(settings):
    checkpoint = recipes.fit(settings, _examples(200, 0), _examples(20, 1), variant="seq2seq_post", progress=False)
    ranked = recipes.predictor(checkpoint, settings).predict_examples(
        [Example(["qwzzkt", "is", "trending", "now"], ["wow"], [["qwzzkt"]], "en")]
    )[0]
    assert ranked and all("qwzzkt" not in h.tag for h in ranked)  # it answers, and never with that word
