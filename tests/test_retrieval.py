"""Retrieval votes against a brute-force computation, and the live index's rules: its own
post never votes, nor posts stamped at or after the request; capacity drops the oldest."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from scipy import sparse

from threadtag.models.corpus import Example
from threadtag.models.retrieval import RetrievalConfig, RetrievalIndex, TextSpace, _word_counts, heaviest_per_row

CORPUS = [
    Example("red apple pie".split(), "so sweet".split(), [["apple", "pie"]], "en"),
    Example("green apple tart".split(), "sour".split(), [["apple", "pie"], ["tart"]], "en"),
    Example("blue whale song".split(), "deep sea".split(), [["whale"]], "en"),
]


def _tfidf(docs: list[list[str]], idf_from: int | None = None) -> list[dict[str, float]]:
    """Smooth IDF (from the first `idf_from` documents) and sublinear TF, l2-normalised, written out."""
    counted = docs[:idf_from] if idf_from else docs
    n = len(counted)
    vocab = sorted({w for d in docs for w in d})
    df = {w: sum(w in d for d in counted) for w in vocab}
    idf = {w: math.log((1 + n) / (1 + df[w])) + 1 for w in vocab}
    out = []
    for d in docs:
        vec = {w: (1 + math.log(d.count(w))) * idf[w] for w in set(d)}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        out.append({w: v / norm for w, v in vec.items()})
    return out


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(v * b.get(w, 0.0) for w, v in a.items())


WORDS = {"char_ngrams": 0}  # the brute force below writes out word TF-IDF; characters have their own test


def _index(
    config: RetrievalConfig = RetrievalConfig(neighbours=2, conv_weight=0.5, vote_power=2.0, **WORDS),
) -> RetrievalIndex:
    index = RetrievalIndex.fit(CORPUS, config)
    index.add(["a", "b", "c"], CORPUS, [1.0, 2.0, 3.0])
    return index


def test_votes_are_the_neighbours_similarity_squared_summed_per_hashtag():
    query = Example("apple pie".split(), "sweet".split(), [], "en")
    post_vecs = _tfidf([e.post for e in CORPUS])
    full_vecs = _tfidf([e.post + e.conv for e in CORPUS])
    # The query's words are all known: written out against the corpus's own documents.
    post_q = _tfidf([e.post for e in CORPUS] + [query.post], idf_from=3)[-1]
    full_q = _tfidf([e.post + e.conv for e in CORPUS] + [query.post + query.conv], idf_from=3)[-1]
    expected_post = [_cos(post_q, post_vecs[j]) for j in range(3)]
    expected_full = [_cos(full_q, full_vecs[j]) for j in range(3)]
    sims = [p + 0.5 * f for p, f in zip(expected_post, expected_full)]
    assert _index().similarities([query]).toarray()[0] == pytest.approx(sims, rel=1e-5)
    # Two neighbours (a, b) vote; "apple pie" gets both votes, "tart" b's; c (whale) is not among them.
    [votes] = _index().votes([query])
    assert set(votes.tags) == {"apple pie", "tart"}
    assert votes.tags["apple pie"].weight == pytest.approx(sims[0] ** 2 + sims[1] ** 2, rel=1e-5)
    assert votes.tags["apple pie"].voters == 2 and votes.tags["tart"].weight == pytest.approx(sims[1] ** 2, rel=1e-5)
    assert votes.ranked() == ["apple pie", "tart"] and votes.top_similarity == pytest.approx(max(sims), rel=1e-5)


def test_the_written_out_tfidf_matches_the_hashed_one_and_new_words_count_as_rarest():
    docs = [e.post for e in CORPUS]
    space = TextSpace.fit([" ".join(d) for d in docs])
    bucket = {w: int(_word_counts([w]).indices[0]) for d in docs + [["plum"]] for w in d}
    for row, expected in zip(space.transform([" ".join(d) for d in docs]).toarray(), _tfidf(docs)):
        assert {w: row[bucket[w]] for w in expected} == pytest.approx(expected, rel=1e-5)
    # A word no training post had: the IDF of a document frequency of 0.
    assert space.idf[bucket["plum"]] == pytest.approx(math.log(4 / 1) + 1)


def _grams(words: list[str], longest: int) -> list[str]:
    text = "".join(words)
    return [text[i : i + n] for n in range(1, longest + 1) for i in range(len(text) - n + 1)]


def test_with_character_ngrams_a_cosine_is_the_weighted_mean_of_the_words_and_the_characters_cosines():
    docs = [["北京", "大学"], ["北京大学", "图书馆"], ["上海", "大学", "大学"], ["red", "apples"]]
    assert _grams(["ab", "c"], 2) == ["a", "b", "c", "ab", "bc"]  # across the word boundary, no space
    weight = 1.5
    space = TextSpace.fit([" ".join(d) for d in docs], char_ngrams=2, char_weight=weight)
    vectors = space.transform([" ".join(d) for d in docs])
    words, chars = _tfidf(docs), _tfidf([_grams(d, 2) for d in docs])
    for i in range(len(docs)):
        for j in range(len(docs)):
            expected = (_cos(words[i], words[j]) + weight**2 * _cos(chars[i], chars[j])) / (1 + weight**2)
            assert float(vectors[i].multiply(vectors[j]).sum()) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # Segmented apart or together, 北京大学 shares its characters: no word in common, a cosine above 0.
    assert _cos(words[0], words[1]) == 0 and float(vectors[0].multiply(vectors[1]).sum()) > 0.1
    restored = TextSpace.from_state(space.state())
    assert (restored.transform(["北京 大学"]) != space.transform(["北京 大学"])).nnz == 0


def test_a_post_never_votes_for_itself_nor_what_came_at_or_after_the_request():
    index = _index()
    query = CORPUS[0]
    assert "apple pie" in index.votes([query])[0].tags
    [own_left_out] = index.votes([query], exclude=["a"])
    assert own_left_out.tags["apple pie"].voters == 1  # b only
    [early] = index.votes([query], before=[2.0])  # only a (stamp 1) came before
    assert set(early.tags) == {"apple pie"} and early.tags["apple pie"].voters == 1
    [nothing] = index.votes([query], exclude=["a"], before=[2.0])
    assert nothing.tags == {}


def test_a_batch_searched_on_several_threads_votes_as_on_one(monkeypatch):
    index = _index()
    words = ["apple", "pie", "tart", "whale", "song", "sea", "sweet", "green"]
    queries = [Example([words[i % 8], words[(i * 3) % 8]], [words[(i * 5) % 8]], [], "en") for i in range(100)]
    exclude = [["a", "b", "c", None][i % 4] for i in range(100)]
    before = [[None, 2.0, 3.0, 9.0, 1.5][i % 5] for i in range(100)]

    def votes(threads: int) -> list[tuple[dict[str, tuple[float, int, float]], float]]:
        monkeypatch.setattr("torch.get_num_threads", lambda: threads)
        found = index.votes(queries, exclude, before)
        return [({t: tuple(v) for t, v in q.tags.items()}, q.top_similarity) for q in found]

    one = votes(1)
    assert sum(bool(tags) for tags, _ in one) > 50  # the queries find something
    assert votes(3) == one  # three parts of 33-34 queries each

    def searchers() -> set[int | None]:  # the threads of the pool that searches in three parts
        return {t.ident for t in threading.enumerate() if t.name.startswith("retrieval-3_")}

    assert searchers()  # the threads stay for the next batch instead of starting for each
    assert votes(3) == one and 0 < len(searchers()) <= 3  # ... and the next batch adds none beyond three


def test_the_index_keeps_its_capacity_and_replaces_a_post_indexed_again():
    index = _index(RetrievalConfig(neighbours=5, capacity=2))
    assert index.keys == ["b", "c"]  # a, the oldest, went
    index.add(["b"], [Example("blue whale".split(), [], [["whale"]], "en")], [4.0])
    assert index.keys == ["c", "b"] and index.tags == [["whale"], ["whale"]]
    assert index.stamps.tolist() == [3.0, 4.0]


def test_the_spaces_survive_a_round_trip_through_plain_data():
    index = _index()
    again = RetrievalIndex.from_state(index.state(), index.config)
    again.add(index.keys, CORPUS, [1.0, 2.0, 3.0])
    query = [Example("apple".split(), "sea".split(), [], "en")]
    assert np.allclose(again.similarities(query).toarray(), index.similarities(query).toarray())


def test_an_empty_index_gives_empty_votes():
    index = RetrievalIndex.fit(CORPUS, RetrievalConfig())
    assert index.votes([CORPUS[0]])[0].tags == {}


def test_heaviest_per_row_keeps_each_rows_largest_weights_in_order():
    postings = sparse.csr_matrix(np.array([[3.0, 1.0, 2.0, 0.0], [0.0, 5.0, 0.0, 0.0], [1.0, 4.0, 2.0, 3.0]]))
    assert heaviest_per_row(postings, 2).toarray().tolist() == [[3, 0, 2, 0], [0, 5, 0, 0], [0, 4, 0, 3]]
    assert heaviest_per_row(postings, 0) is postings and heaviest_per_row(postings, 3).nnz == 7


def test_a_search_through_cut_postings_is_the_brute_force_product_with_each_words_top_posts():
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(12)]
    corpus = [  # lengths of 1-12 words: a word's weights rarely tie, and the test checks they don't
        Example(
            list(rng.choice(words, rng.integers(1, 13))),
            list(rng.choice(words, rng.integers(1, 13))),
            [[f"t{i % 3}"]],
            "en",
        )
        for i in range(30)
    ]
    queries = corpus[:5]
    exact = RetrievalIndex.fit(corpus, RetrievalConfig(postings_per_word=0))
    cut = RetrievalIndex.fit(corpus, RetrievalConfig(postings_per_word=3))
    for index in (exact, cut):
        index.add([str(i) for i in range(30)], corpus, [0.0] * 30)
    rows = exact._matrices()[0].toarray()  # [posts, words]: keep each word's 3 heaviest posts
    heaviest = -np.sort(-rows, axis=0)
    assert (heaviest[2] > heaviest[3])[heaviest[3] > 0].all()  # the 3 heaviest of each word are unique
    top = np.argsort(-rows, axis=0)[:3]
    kept = np.zeros_like(rows)
    np.put_along_axis(kept, top, np.take_along_axis(rows, top, axis=0), axis=0)
    query_vectors = exact._vectors(queries, exact.config.conv_weight).toarray()
    assert cut.similarities(queries).toarray() == pytest.approx(query_vectors @ kept.T, abs=1e-6)
    assert exact.similarities(queries).toarray() == pytest.approx(query_vectors @ rows.T, abs=1e-6)
    assert (cut.similarities(queries).toarray() <= exact.similarities(queries).toarray() + 1e-6).all()


def test_a_query_cut_to_its_heaviest_words_is_the_brute_force_product_of_those_words():
    rng = np.random.default_rng(8)
    words = [f"w{i}" for i in range(12)]
    corpus = [Example(list(rng.choice(words, 6)), list(rng.choice(words, 6)), [["t"]], "en") for _ in range(20)]
    every = RetrievalIndex.fit(corpus, RetrievalConfig(postings_per_word=0, query_terms=0))
    cut = RetrievalIndex.fit(corpus, RetrievalConfig(postings_per_word=0, query_terms=2))
    for index in (every, cut):
        index.add([str(i) for i in range(20)], corpus, [0.0] * 20)
    queries = corpus[:4]
    vectors = every._vectors(queries, every.config.conv_weight).toarray()
    heaviest = np.argsort(-vectors, axis=1)[:, :2]
    kept = np.zeros_like(vectors)
    np.put_along_axis(kept, heaviest, np.take_along_axis(vectors, heaviest, axis=1), axis=1)
    assert (np.count_nonzero(vectors, axis=1) > 2).all()  # the cut removes words from every query
    rows = every._matrices()[0].toarray()
    assert cut.similarities(queries).toarray() == pytest.approx(kept @ rows.T, abs=1e-6)
    assert not np.allclose(every.similarities(queries).toarray(), kept @ rows.T)
