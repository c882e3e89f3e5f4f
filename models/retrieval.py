"""Retrieval over labelled posts: the posts most like a query vote for their hashtags.

Two TF-IDF spaces (sublinear term frequency, words hashed by scikit-learn, IDF fitted once
on the training posts): the post alone, and the post with its conversation. A query's similarity to an
indexed post is cos(post) + conv_weight * cos(post + conversation); its `neighbours` most
similar posts vote for their hashtags with weight similarity ** vote_power.

The index grows while it serves (the stream adds every labelled root it stores), holds at
most `capacity` posts (the oldest go first), and a search can leave out given keys and
everything stamped at or after a time: the post being annotated, and what arrived after
its request (a replay cannot leak its own labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import torch
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from threadtag.models.corpus import Example, tag_text

TRAINING_STAMP = float("-inf")  # a model's own training posts come before any request
QUERIES_PER_THREAD = 16  # fewer queries a thread than this cost more in threads than they save


@cache
def _search_pool(workers: int) -> ThreadPoolExecutor:
    """The process's threads for searches in parts, kept: a pool started for each batch spent
    about 2 % of a busy inference worker starting threads."""
    return ThreadPoolExecutor(workers, thread_name_prefix=f"retrieval-{workers}")


@dataclass(frozen=True)
class RetrievalConfig:
    neighbours: int = 100
    conv_weight: float = 1.0
    vote_power: float = 2.0
    capacity: int = 200_000
    postings_per_word: int = 2_000  # 0: every post a word occurs in
    query_terms: int = 256  # a query searches with its this many heaviest terms (0: all)
    char_ngrams: int = 2  # character 1- to n-grams beside the words (0: words alone)
    char_weight: float = 1.5  # the characters' part of a vector against the words'


class TextSpace:
    """TF-IDF over hashed words (scikit-learn): words unseen in training still match, with
    the IDF of a word no training post had. With `char_ngrams` n, a text's character 1- to
    n-grams join its words: a vector is (words + char_weight * characters), each part
    l2-normalised, so a cosine is a weighted mean of the two parts' cosines. Characters match
    what segmentation split apart (a Chinese name cut in two, an English word and its plural).
    Its state is plain data (the document counts of the buckets training used and the two
    character settings), so a checkpoint can carry it."""

    BUCKETS = 2**20

    def __init__(
        self, docs: int, document_frequency: dict[int, int], char_ngrams: int = 0, char_weight: float = 1.0
    ) -> None:
        self.docs = docs
        self.document_frequency = document_frequency
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight
        df = np.zeros(self.BUCKETS)
        df[list(document_frequency)] = list(document_frequency.values())
        self.idf = np.log((1 + docs) / (1 + df)) + 1.0  # scikit-learn's smooth IDF

    @classmethod
    def fit(cls, docs: Sequence[str], char_ngrams: int = 0, char_weight: float = 1.0) -> TextSpace:
        counts = _word_counts(docs)
        if char_ngrams:
            counts = counts + _char_counts(docs, char_ngrams)
        df = np.bincount(counts.indices, minlength=cls.BUCKETS)
        return cls(len(docs), {int(i): int(df[i]) for i in np.flatnonzero(df)}, char_ngrams, char_weight)

    def transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        """Rows of (1 + log tf) * idf, l2-normalised (each part apart, then the whole)."""
        vectors = self._weighted(_word_counts(docs))
        if self.char_ngrams:
            vectors = normalize(vectors + self.char_weight * self._weighted(_char_counts(docs, self.char_ngrams)))
        return vectors.astype(np.float32)

    def _weighted(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        counts = counts.astype(np.float64)
        counts.data = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
        return normalize(counts)

    def state(self) -> dict[str, Any]:
        return {
            "docs": self.docs,
            "buckets": list(self.document_frequency),
            "df": list(self.document_frequency.values()),
            "char_ngrams": self.char_ngrams,
            "char_weight": self.char_weight,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextSpace:
        # A checkpoint from before character n-grams: words alone.
        return cls(
            state["docs"],
            dict(zip(state["buckets"], state["df"])),
            state.get("char_ngrams", 0),
            state.get("char_weight", 1.0),
        )


@cache
def _hasher(analyzer: Any) -> HashingVectorizer:
    # Tokens come prepared (models/text.py): split on spaces, never lower-cased again.
    return HashingVectorizer(
        n_features=TextSpace.BUCKETS, analyzer=analyzer, lowercase=False, alternate_sign=False, norm=None
    )


def _words(doc: str) -> list[str]:
    return doc.split()


@cache
def _char_analyzer(longest: int) -> Any:
    def grams(doc: str) -> list[str]:
        # Across word boundaries, spaces left out: segmentation decides nothing here. The
        # prefix keeps a one-character word and the same character apart.
        text = doc.replace(" ", "")
        return [f"\x01{text[i : i + n]}" for n in range(1, longest + 1) for i in range(len(text) - n + 1)]

    return grams


def _word_counts(docs: Sequence[str]) -> sparse.csr_matrix:
    return _hasher(_words).transform(docs)


def _char_counts(docs: Sequence[str], longest: int) -> sparse.csr_matrix:
    return _hasher(_char_analyzer(longest)).transform(docs)


def post_doc(example: Example) -> str:
    return " ".join(example.post)


def full_doc(example: Example) -> str:
    return " ".join(example.post + example.conv)


class Vote(NamedTuple):
    """What the neighbours that carry one hashtag say about it (a tuple: a query makes about a
    hundred, and a frozen dataclass took a third of the hybrid's own time to build them)."""

    weight: float  # sum of similarity ** vote_power
    voters: int
    best_similarity: float


@dataclass
class Votes:
    """A query's votes, heaviest first, and its best similarity to any indexed post."""

    tags: dict[str, Vote] = field(default_factory=dict)
    top_similarity: float = 0.0

    @property
    def total(self) -> float:
        return sum(v.weight for v in self.tags.values())

    def ranked(self) -> list[str]:
        return sorted(self.tags, key=lambda t: -self.tags[t].weight)


class RetrievalIndex:
    """Labelled posts in two TF-IDF spaces, searched by matrix products."""

    def __init__(self, post_space: TextSpace, full_space: TextSpace, config: RetrievalConfig) -> None:
        self.post_space = post_space
        self.full_space = full_space
        self.config = config
        self.keys: list[str] = []
        self.tags: list[list[str]] = []
        self.stamps = np.zeros(0, dtype=np.float64)
        # One row per post: its post vector beside its post + conversation vector, so that one
        # product with [q_post, conv_weight * q_full] gives the summed similarity.
        self._rows: list[sparse.csr_matrix] = []
        self._stacked: tuple[sparse.csr_matrix, sparse.csr_matrix] | None = None  # rows, postings
        self._row_of: dict[str, int] = {}

    @classmethod
    def fit(cls, examples: Sequence[Example], config: RetrievalConfig) -> RetrievalIndex:
        """Spaces fitted on `examples` (which are not indexed yet)."""
        chars = (config.char_ngrams, config.char_weight)
        return cls(
            TextSpace.fit([post_doc(e) for e in examples], *chars),
            TextSpace.fit([full_doc(e) for e in examples], *chars),
            config,
        )

    def __len__(self) -> int:
        return len(self.keys)

    def add_training_posts(self, examples: Sequence[Example]) -> list[str]:
        """Index a model's own training posts: stamped before any request. Returns their keys."""
        keys = [f"training:{i}" for i in range(len(examples))]
        self.add(keys, examples, [TRAINING_STAMP] * len(examples))
        return keys

    def add(self, keys: Sequence[str], examples: Sequence[Example], stamps: Sequence[float]) -> None:
        """Index labelled posts; a key indexed before is replaced (its conversation grew)."""
        if not keys:
            return
        replaced = [k for k in keys if k in self._row_of]
        if replaced:
            self._drop(set(replaced))
        self._rows.append(self._vectors(examples, 1.0))
        start = len(self.keys)
        self.keys.extend(keys)
        self.tags.extend([tag_text(t) for t in e.tags] for e in examples)
        self.stamps = np.concatenate([self.stamps, np.asarray(stamps, dtype=np.float64)])
        self._row_of.update((k, start + i) for i, k in enumerate(keys))
        self._stacked = None
        if len(self.keys) > self.config.capacity:
            self._drop(set(self.keys[: len(self.keys) - self.config.capacity]))

    def _vectors(self, examples: Sequence[Example], full_weight: float) -> sparse.csr_matrix:
        post = self.post_space.transform([post_doc(e) for e in examples])
        full = self.full_space.transform([full_doc(e) for e in examples])
        return sparse.hstack([post, full_weight * full], format="csr", dtype=np.float32)

    def _matrices(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """The rows and each word's strongest postings, stacked once per change (a search reads the postings)."""
        if self._stacked is None:
            rows = self._all_rows()
            self._stacked = (rows, heaviest_per_row(rows.T.tocsr(), self.config.postings_per_word))
        return self._stacked

    def _all_rows(self) -> sparse.csr_matrix:
        if len(self._rows) != 1:
            empty = sparse.csr_matrix((0, 2 * TextSpace.BUCKETS), dtype=np.float32)
            self._rows = [sparse.vstack(self._rows, format="csr") if self._rows else empty]
        return self._rows[0]

    def reconfigure(self, config: RetrievalConfig) -> None:
        """Search with other settings from now on (postings are cut again at the next search)."""
        self.config, self._stacked = config, None

    def nbytes(self) -> int:
        """Memory of the index's vectors (rows and postings)."""
        return sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in self._matrices())

    def _drop(self, keys: set[str]) -> None:
        keep = [i for i, k in enumerate(self.keys) if k not in keys]
        self._rows = [self._all_rows()[keep]]
        self.keys = [self.keys[i] for i in keep]
        self.tags = [self.tags[i] for i in keep]
        self.stamps = self.stamps[keep]
        self._row_of = {k: i for i, k in enumerate(self.keys)}
        self._stacked = None

    def similarities(self, examples: Sequence[Example]) -> sparse.csr_matrix:
        """[queries, indexed posts] similarity, through each word's strongest postings only."""
        _, postings = self._matrices()
        queries = heaviest_per_row(self._vectors(examples, self.config.conv_weight), self.config.query_terms)
        return (queries @ postings).tocsr()

    def votes(
        self,
        examples: Sequence[Example],
        exclude: Sequence[str | None] | None = None,
        before: Sequence[float | None] | None = None,
    ) -> list[Votes]:
        """Each query's votes; `exclude[i]` is a key it must not see (itself), `before[i]` a
        time: only posts stamped earlier vote."""
        if not examples:
            return []
        if not self.keys:
            return [Votes() for _ in examples]
        self._matrices()  # built here, before any thread reads them
        parts = min(torch.get_num_threads(), len(examples) // QUERIES_PER_THREAD)
        if parts <= 1:
            return self._votes(examples, exclude, before)
        # The product and each row's selection release the GIL, and beam search is done with
        # the TORCH_THREADS cores by now: parts of the batch search on them at once.
        cuts = np.linspace(0, len(examples), parts + 1).astype(int).tolist()

        def part(i: int) -> list[Votes]:
            rows = slice(cuts[i], cuts[i + 1])
            return self._votes(examples[rows], exclude[rows] if exclude else None, before[rows] if before else None)

        return [votes for found in _search_pool(parts).map(part, range(parts)) for votes in found]

    def _votes(
        self,
        examples: Sequence[Example],
        exclude: Sequence[str | None] | None,
        before: Sequence[float | None] | None,
    ) -> list[Votes]:
        sims = self.similarities(examples)
        out = []
        for i in range(len(examples)):
            # A query's row holds only the posts it shares a word with (sparse: never the whole index).
            posts = sims.indices[sims.indptr[i] : sims.indptr[i + 1]]
            similarity = sims.data[sims.indptr[i] : sims.indptr[i + 1]]
            keep = similarity > 0
            key = exclude[i] if exclude else None
            if key is not None and key in self._row_of:
                keep &= posts != self._row_of[key]
            if before and before[i] is not None:
                keep &= self.stamps[posts] < before[i]
            posts, similarity = posts[keep], similarity[keep]
            if len(posts) > self.config.neighbours:
                nearest = np.argpartition(-similarity, self.config.neighbours - 1)[: self.config.neighbours]
                posts, similarity = posts[nearest], similarity[nearest]
            ranked = np.lexsort((posts, -similarity))  # most similar first; ties by index order
            posts, similarity = posts[ranked], similarity[ranked].astype(np.float64)
            weights = similarity**self.config.vote_power
            tally: dict[str, list[float]] = {}  # tag -> [weight, voters, best similarity]
            for j, sim, weight in zip(posts.tolist(), similarity.tolist(), weights.tolist()):
                for tag in self.tags[j]:
                    if (entry := tally.get(tag)) is None:
                        tally[tag] = [weight, 1, sim]  # the most similar voter comes first
                    else:
                        entry[0] += weight
                        entry[1] += 1
            top = float(similarity[0]) if len(similarity) else 0.0
            out.append(Votes(dict(zip(tally, map(Vote._make, tally.values()))), top))
        return out

    def state(self) -> dict[str, Any]:
        return {"post_space": self.post_space.state(), "full_space": self.full_space.state()}

    @classmethod
    def from_state(cls, state: dict[str, Any], config: RetrievalConfig) -> RetrievalIndex:
        return cls(TextSpace.from_state(state["post_space"]), TextSpace.from_state(state["full_space"]), config)


def heaviest_per_row(matrix: sparse.csr_matrix, per_row: int) -> sparse.csr_matrix:
    """Each row cut to its `per_row` largest weights, in their order; 0 keeps all. For a
    word's postings (the posts where it weighs most) and for a query (its heaviest words)."""
    lengths = np.diff(matrix.indptr)
    long = np.flatnonzero(lengths > per_row) if per_row else np.zeros(0, dtype=np.int64)
    if not len(long):
        return matrix
    keep = np.ones(matrix.nnz, dtype=bool)
    for row in long.tolist():
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        keep[start + np.argpartition(-matrix.data[start:end], per_row - 1)[per_row:]] = False
    indptr = np.concatenate([[0], np.cumsum(np.minimum(lengths, per_row))])
    return sparse.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)
