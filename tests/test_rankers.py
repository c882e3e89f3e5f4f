"""The compared systems on a tiny data set (the bundled sample threads)."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.paths import SAMPLE_THREADS
from threadtag.models.batching import TextLimits
from threadtag.models.comparison import bucket_of, by_frequency, new_hashtags, run_systems, system_color, unseen
from threadtag.models.corpus import Example, load_tweet_threads
from threadtag.models.rankers.classifier import ClassifierConfig, ClassifierRanker
from threadtag.models.rankers.extractor import ExtractorConfig, ExtractorRanker, best_spans, word_labels
from threadtag.models.rankers.lda import LdaRanker
from threadtag.models.rankers.random_ranker import RandomRanker
from threadtag.models.rankers.tfidf import TfidfRanker, ngrams

K = 5
LIMITS = TextLimits(35, 100, 10)
SMALL_CNN = ClassifierConfig(embed_dim=16, filters=8, window=3, epochs=3, batch_size=8, lr=1e-2, seed=0)
SMALL_TAGGER = ExtractorConfig(embed_dim=16, hidden_size=16, max_span=4, epochs=3, batch_size=8, lr=1e-2, seed=0)


@pytest.fixture(scope="module")
def split() -> tuple[list[Example], list[Example]]:
    examples = load_tweet_threads(SAMPLE_THREADS)
    return examples[:-4], examples[-4:]


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomRanker(seed=1),
        lambda: TfidfRanker(max_n=5),
        lambda: LdaRanker(topics=3, max_iter=5, seed=0),
        lambda: ClassifierRanker(False, SMALL_CNN, LIMITS, 500, torch.device("cpu")),
        lambda: ClassifierRanker(True, SMALL_CNN, LIMITS, 500, torch.device("cpu")),
        lambda: ExtractorRanker(SMALL_TAGGER, LIMITS, 500, torch.device("cpu")),
    ],
    ids=["random", "tfidf", "lda", "cnn-post", "cnn-post-conv", "extractor"],
)
def test_each_baseline_returns_k_distinct_hashtags_per_post(make, split):
    train, test = split
    ranker = make()
    ranker.fit(train, test)
    ranked = ranker.rank(test, K)
    assert len(ranked) == len(test)
    for tags in ranked:
        assert len(tags) == K and len(set(tags)) == K and all(isinstance(t, str) and t for t in tags)


def test_random_ranks_only_training_hashtags_and_is_seeded(split):
    train, test = split
    seen = {" ".join(t) for ex in train for t in ex.tags}
    first, again = RandomRanker(7), RandomRanker(7)
    first.fit(train, test)
    again.fit(train, test)
    assert first.rank(test, K) == again.rank(test, K)
    assert all(set(tags) <= seen for tags in first.rank(test, K))


def test_tfidf_prefers_the_rare_ngram_and_skips_placeholders():
    train = [Example("common word here".split(), [], [["x"]], "en"), Example("common stuff".split(), [], [["x"]], "en")]
    ranker = TfidfRanker(max_n=2)
    ranker.fit(train, [])
    ranked = ranker.rank([Example("common rare URL".split(), [], [["y"]], "en")], 3)[0]
    assert ranked[0] in ("rare", "common rare") and "common" == ranked[-1]
    assert list(ngrams(["a", "URL", "b"], 3)) == [("a",), ("b",)]


def test_extractor_labels_hashtag_words_and_scores_whole_spans():
    example = Example("the aus open final tonight".split(), [], [["aus", "open"]], "en")
    assert word_labels(example, 4) == [0.0, 1.0, 1.0, 0.0]
    words = "the aus open final".split()
    # "aus open" inside with both neighbours outside beats either word alone.
    assert best_spans(words, [0.05, 0.9, 0.9, 0.05], 4, 3)[0] == "aus open"
    assert best_spans(["a", "URL", "b"], [0.9, 0.9, 0.9], 3, 5) == ["a", "b"]


def test_frequency_buckets_and_unseen_posts():
    train = [Example(["p"], [], [["a"]], "en")] * 5 + [Example(["p"], [], [["b"]], "en")]
    test = [
        Example(["p"], [], [["a"]], "en"),
        Example(["p"], [], [["b"], ["c"]], "en"),
        Example(["p"], [], [["c"]], "en"),
    ]
    counts = {"a": 5, "b": 1}
    assert [bucket_of(ex, counts) for ex in test] == ["5-19", "1-4", "unseen"]
    assert unseen(train, test) == [2]
    more = [*test, Example(["p"], [], [["d", "e"]], "en")]  # "d e": in no training post nor the inventory
    assert new_hashtags(train, more, known={"c"}) == [3] and new_hashtags(train, more, known=set()) == [2, 3]

    class Always:
        name = "always a"

        def fit(self, train, dev):
            pass

        def rank(self, examples, k):
            return [["a"] for _ in examples]

    results = run_systems([Always()], train, test, test, 1)
    buckets, f1 = by_frequency(results, train, test)
    assert dict(buckets) == {"unseen": 1, "1-4": 1, "5-19": 1, "20-99": 0, "100+": 0}
    assert f1["always a"][2] == 1.0 and f1["always a"][0] == 0.0


def test_compare_writes_every_table_and_a_png(split, tmp_path):
    from threadtag.app.compare import ABLATION_NAMES, run_compare
    from threadtag.core.settings import Settings

    train, test = split
    settings = Settings(
        embed_dim=16,
        hidden_size=16,
        encoder_layers=1,
        train_max_epochs=1,
        beam_size=5,
        lda_topics=3,
        lda_max_iter=5,
        classifier_filters=8,
        extractor_hidden_size=8,
        baseline_epochs=2,
    )
    report = run_compare(settings, train, test, tmp_path, tmp_path / "models", "threadtag compare (test)", False)
    text = report.read_text()
    systems = (
        "RANDOM",
        "TF-IDF",
        "LDA",
        "EXTRACTOR",
        "CLASSIFIER (post only)",
        "CLASSIFIER (post+conv)",
        "RETRIEVAL",
        "SEQ2SEQ",
        "OUR MODEL",
        "HYBRID",
        "HYBRID without the generator",
    )
    for system in systems:
        assert f"| {system}" in text
    for name in ABLATION_NAMES.values():
        assert f"| {name} |" in text
    assert "\\n" not in text  # rows on lines of their own
    assert (tmp_path / "f1_by_hashtag_frequency.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    expected = sorted(f"{v}.pt" for v in [*ABLATION_NAMES, "seq2seq_copy"])
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == expected


def test_every_system_of_the_comparison_has_its_own_colour():
    assert len({system_color(j) for j in range(20)}) == 20  # the report plots 11 systems today
