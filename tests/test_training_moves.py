"""Training must change what the model reads: the embeddings of words seen in training move
away from their initial values (with N(0, 1) embeddings and Adam at 1e-3 they moved 2-4 %
in a full Weibo training, and the model read posts through fixed random vectors)."""

from __future__ import annotations

import random

import torch

from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.corpus import Example
from threadtag.models.network import HashtagGenerator
from threadtag.models.training import set_seed

WORDS = ["storm", "snow", "cold", "match", "goal", "team", "vote", "poll", "party", "rain"]
TOPICS = {"storm": ["weather"], "match": ["football"], "vote": ["election"]}


def _examples(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        topic = rng.choice(list(TOPICS))
        post = [topic, *rng.sample(WORDS, 4)]
        out.append(Example(post=post, conv=rng.sample(WORDS, 5), tags=[TOPICS[topic]], lang="en"))
    return out


def test_training_moves_the_embeddings_of_seen_words():
    settings = Settings(embed_dim=16, hidden_size=16, train_max_epochs=3, train_batch_size=16, train_seed=3)
    checkpoint = recipes.fit(settings, _examples(160, 0), _examples(20, 1), variant="full", progress=False)
    set_seed(settings.train_seed)  # training builds its model right after seeding: the same initial weights
    initial = HashtagGenerator(checkpoint.model.config).embedding.weight.detach()
    trained = checkpoint.model.embedding.weight.detach().cpu()
    ids = [checkpoint.vocab.stoi[w] for w in WORDS]
    moved = (trained[ids] - initial[ids]).norm(dim=1) / initial[ids].norm(dim=1)
    assert float(moved.median()) > 0.2, moved
    # The untouched padding row stays put: the comparison really is against the initial weights.
    assert torch.equal(trained[checkpoint.vocab.pad_id], initial[checkpoint.vocab.pad_id])
