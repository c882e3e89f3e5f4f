"""The hybrid path: candidates and their features by hand, a reranker that learns a signal,
the checkpoint that carries it, and the order used when there is too little data to learn."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from threadtag.models.annotator import HybridAnnotator, HybridModel
from threadtag.models.corpus import Example
from threadtag.models.hybrid import FEATURES, Candidates, HybridConfig, Reranker, RerankerConfig, candidates, labels
from threadtag.models.hybrid_training import fit_hybrid
from threadtag.models.inventory import HashtagInventory
from threadtag.models.predictor import RankedHashtag
from threadtag.models.retrieval import RetrievalConfig, Vote, Votes

# Three tiny posts share characters everywhere: with character n-grams every post votes for
# every query, and what these tests count (which post votes) is word retrieval's.
WORDS_ALONE = RetrievalConfig(char_ngrams=0)


def _feature(found: Candidates, tag: str, name: str) -> float:
    return float(found.features[found.tags.index(tag), FEATURES.index(name)])


def test_candidates_come_from_votes_beam_and_inventory_with_their_features():
    example = Example("the aus open final".split(), "what a match".split(), [["aus", "open"]], "en")
    votes = Votes({"aus open": Vote(0.75, 2, 0.6), "tennis": Vote(0.25, 1, 0.5)}, top_similarity=0.6)
    beam = [RankedHashtag("tennis", -1.0), RankedHashtag("final match", -3.0)]
    inventory = HashtagInventory()
    inventory.add(["aus open", "aus open", "open", "cricket"])
    found = candidates(example, votes, beam, inventory, HybridConfig(5, 5, 5))
    assert found.tags == ["aus open", "tennis", "final match", "open"]  # votes, beam, spelled out (no cricket)
    assert _feature(found, "aus open", "vote_share") == pytest.approx(0.75)
    assert _feature(found, "aus open", "vote_rank") == 1 and _feature(found, "tennis", "generator_rank") == 1
    assert _feature(found, "final match", "generator_logprob_per_word") == pytest.approx(-1.5)
    assert math.isnan(_feature(found, "aus open", "generator_logprob"))  # not in the beam
    assert _feature(found, "aus open", "inventory_count") == pytest.approx(math.log1p(2))
    assert _feature(found, "aus open", "spelled_out") == 1 and _feature(found, "tennis", "spelled_out") == 0
    assert (
        _feature(found, "final match", "post_word_share") == 0.5
        and _feature(found, "final match", "conv_word_share") == 0.5
    )
    assert _feature(found, "aus open", "in_post_text") == 1 and _feature(found, "aus open", "characters") == 7
    assert labels(example, found).tolist() == [1, 0, 0, 0]


def _synthetic(n: int, seed: int) -> tuple[list[Candidates], list[np.ndarray]]:
    """Queries whose gold is the candidate with the largest vote share, plus noise features."""
    rng = np.random.default_rng(seed)
    groups, targets = [], []
    for _ in range(n):
        features = rng.random((6, len(FEATURES)))
        gold = int(np.argmax(features[:, FEATURES.index("vote_share")]))
        groups.append(Candidates([f"t{i}" for i in range(6)], features))
        targets.append(np.eye(6, dtype=np.int32)[gold])
    return groups, targets


def test_the_reranker_learns_which_feature_decides_and_survives_its_text_form():
    reranker = Reranker.fit(*_synthetic(300, 0), RerankerConfig(trees=200))
    test_groups, test_targets = _synthetic(100, 1)
    hits = sum(reranker.rank(g, 1)[0][0] == g.tags[int(np.argmax(y))] for g, y in zip(test_groups, test_targets))
    assert hits >= 80  # chance: 1 in 6
    again = Reranker.from_state(reranker.state())
    assert np.allclose(again.scores(test_groups[0]), reranker.scores(test_groups[0]))


class _Beams:
    """A generator stand-in that returns fixed beams."""

    def __init__(self, beam: list[RankedHashtag]) -> None:
        self.beam = beam
        self.checkpoint = None
        self.batch_size = 8

    def predict_examples(self, examples):
        return [self.beam for _ in examples]


TRAIN = [
    Example("red apple pie".split(), "so sweet".split(), [["apple", "pie"]], "en"),
    Example("green apple tart".split(), "sour".split(), [["tart"]], "en"),
    Example("blue whale song".split(), "deep sea".split(), [["whale"]], "en"),
]


def test_without_a_reranker_the_votes_come_first_then_the_beam():
    model = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(), RerankerConfig())
    assert model.reranker is None  # three posts: too few to learn from
    annotator = HybridAnnotator(_Beams([RankedHashtag("fruit", -1.0)]), model, top_k=3)  # type: ignore[arg-type]
    [ranked] = annotator.predict_examples([Example("apple pie".split(), [], [], "en")])
    assert [h.tag for h in ranked] == ["apple pie", "tart", "fruit"]


def test_a_learned_post_votes_for_later_requests_only():
    model = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(), RerankerConfig())
    annotator = HybridAnnotator(_Beams([]), model, top_k=5)  # type: ignore[arg-type]
    fresh = Example("purple plum jam".split(), [], [["plum", "jam"]], "en")
    annotator.learn(["p9"], [fresh], [100.0])
    query = Example("plum jam recipe".split(), [], [], "en")
    assert [h.tag for h in annotator.rank([query], before=[101.0])[0]] == ["plum jam"]
    assert annotator.rank([query], before=[100.0])[0] == []  # stored at the request's moment: not yet
    assert annotator.rank([query], exclude=["p9"], before=[101.0])[0] == []  # its own post


def test_the_hybrid_model_survives_a_round_trip_through_plain_data():
    inventory = HashtagInventory()
    inventory.add(["apple pie"])
    model = fit_hybrid(TRAIN, inventory, replace(WORDS_ALONE, neighbours=2), HybridConfig(), RerankerConfig())
    again = HybridModel.from_state(model.state(TRAIN))
    assert again.index.keys == model.index.keys and again.inventory.counts == model.inventory.counts
    query = [Example("apple".split(), [], [], "en")]
    assert again.index.votes(query)[0].tags == model.index.votes(query)[0].tags


def test_conversation_words_past_the_cut_change_nothing_and_old_checkpoints_read_all():
    """The hybrid reads the conversation's first HYBRID_CONV_TOKENS tokens: words past them
    do not vote, so a longer thread cannot change the answer (read whole, "whale" wins)."""
    cut = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(conv_tokens=3), RerankerConfig())
    whole = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(conv_tokens=0), RerankerConfig())
    short = Example("a recipe".split(), "we like it".split(), [], "en")
    longer = Example("a recipe".split(), "we like it deep sea whale song".split(), [], "en")
    reading = HybridAnnotator(_Beams([]), cut, top_k=5)  # type: ignore[arg-type]
    assert reading.rank([longer]) == reading.rank([short]) == [[]]
    assert [h.tag for h in HybridAnnotator(_Beams([]), whole, top_k=5).rank([longer])[0]] == ["whale"]  # type: ignore[arg-type]
    state = cut.state(TRAIN)
    del state["config"]["conv_tokens"]  # written before the cut existed
    assert HybridModel.from_state(state).config.conv_tokens == 0


class _CountedBeams(_Beams):
    def __init__(self, beam: list[RankedHashtag]) -> None:
        super().__init__(beam)
        self.calls = 0

    def predict_examples(self, examples):
        self.calls += 1
        return super().predict_examples(examples)


def test_the_hybrid_without_the_generator_runs_no_beam_search_and_drops_only_its_candidates():
    model = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(), RerankerConfig())
    beams = _CountedBeams([RankedHashtag("fruit", -1.0)])
    annotator = HybridAnnotator(beams, model, top_k=3)  # type: ignore[arg-type]
    query = [Example("apple pie".split(), [], [], "en")]
    assert [h.tag for h in annotator.rank(query)[0]] == ["apple pie", "tart", "fruit"] and beams.calls == 1
    alone = annotator.without_generator()
    assert [h.tag for h in alone.rank(query)[0]] == ["apple pie", "tart"] and beams.calls == 1
    assert annotator.model.config.beam_candidates == HybridConfig().beam_candidates  # the original keeps its own
    model.uses_generator_features = True
    with pytest.raises(ValueError, match="features"):
        annotator.without_generator()


def test_decoding_short_runs_beam_search_only_for_posts_the_votes_leave_short():
    model = fit_hybrid(TRAIN, HashtagInventory(), WORDS_ALONE, HybridConfig(), RerankerConfig())
    query = [Example("apple pie".split(), [], [], "en")]  # two hashtags get votes: apple pie, tart
    beams = _CountedBeams([RankedHashtag("fruit", -1.0)])
    three = HybridAnnotator(beams, model, top_k=3, decode="short")  # type: ignore[arg-type]
    assert [h.tag for h in three.rank(query)[0]] == ["apple pie", "tart", "fruit"] and beams.calls == 1
    two = HybridAnnotator(beams, model, top_k=2, decode="short")  # type: ignore[arg-type]
    assert [h.tag for h in two.rank(query)[0]] == ["apple pie", "tart"] and beams.calls == 1  # full: no beam search
    always = HybridAnnotator(beams, model, top_k=2, decode="always")  # type: ignore[arg-type]
    assert [h.tag for h in always.rank(query)[0]] == ["apple pie", "tart"] and beams.calls == 2
