"""The hybrid annotation: candidates from retrieval votes, the generator's beam and the
hashtag inventory, ranked by a learned reranker (LightGBM, lambdarank).

Every feature of a candidate is computed here, from the same objects offline and live:
the query (an Example, prepared as for training), its retrieval votes, the generator's
ranked hashtags for it, and the inventory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from threadtag.models.corpus import Example, tag_text
from threadtag.models.inventory import HashtagInventory
from threadtag.models.predictor import RankedHashtag
from threadtag.models.retrieval import Votes

FEATURES = (
    "vote_share",
    "vote_weight",
    "voters",
    "best_similarity",
    "vote_rank",
    "top_similarity",
    "generator_logprob",
    "generator_rank",
    "generator_logprob_per_word",
    "in_beam",
    "inventory_count",
    "spelled_out",
    "post_word_share",
    "conv_word_share",
    "in_post_text",
    "conv_mentions",
    "words",
    "characters",
)
MISSING = float("nan")  # LightGBM learns where a missing value goes


@dataclass(frozen=True)
class HybridConfig:
    vote_candidates: int = 20  # the heaviest votes that become candidates
    beam_candidates: int = 5  # the generator's best that become candidates
    spelled_candidates: int = 20  # inventory hashtags spelled out by the post and conversation, most common first
    conv_tokens: int = 1_000  # conversation tokens retrieval and the features read (0: all); see read_part


def read_part(example: Example, conv_tokens: int) -> Example:
    """What the hybrid path reads of an example: its conversation's first `conv_tokens`
    tokens (0: all), in training, offline and live alike. It bounds what a request reads of
    a long thread (replies past it cannot change the answer) at no measured cost in quality
    (0.6 % of the Weibo posts have more)."""
    if not conv_tokens or len(example.conv) <= conv_tokens:
        return example
    return replace(example, conv=example.conv[:conv_tokens])


@dataclass(frozen=True)
class Candidates:
    """One query's candidate hashtags and their feature rows."""

    tags: list[str]
    features: np.ndarray  # [len(tags), len(FEATURES)]


def _word_share(words: list[str], present: set[str]) -> float:
    return sum(map(present.__contains__, words)) / len(words) if words else 0.0


def candidates(
    example: Example,
    votes: Votes,
    beam: Sequence[RankedHashtag],
    inventory: HashtagInventory,
    config: HybridConfig,
    count: Callable[[str], int] | None = None,
) -> Candidates:
    """The query's candidates and features. `count(tag)`: how often the inventory saw the
    hashtag before this query (default: its counts as they are)."""
    count = count or (lambda tag: inventory.counts.get(tag, 0))
    ranked_votes = votes.ranked()
    seen = {t: count(t) for t in inventory.spelled_out(example.post + example.conv)}  # one count a tag
    spelled = sorted((t for t, n in seen.items() if n > 0), key=lambda t: -seen[t])  # stable: ties stay by name
    tags = list(
        dict.fromkeys(
            [
                *ranked_votes[: config.vote_candidates],
                *(h.tag for h in beam[: config.beam_candidates]),
                *spelled[: config.spelled_candidates],
            ]
        )
    )
    vote_rank = {t: i + 1 for i, t in enumerate(ranked_votes)}
    beam_of = {h.tag: (i + 1, h.score) for i, h in enumerate(beam)}
    spelled_set = set(spelled)
    post_words, conv_words = set(example.post), set(example.conv)
    post_text, conv_text = "".join(example.post), " ".join(example.conv)
    total = votes.total or 1.0
    rows = []
    for tag in tags:
        words = tag.split()
        vote = votes.tags.get(tag)
        rank_and_score = beam_of.get(tag)
        joined = "".join(words)
        rows.append(
            [
                vote.weight / total if vote else 0.0,
                vote.weight if vote else 0.0,
                vote.voters if vote else 0,
                vote.best_similarity if vote else 0.0,
                vote_rank.get(tag, MISSING),
                votes.top_similarity,
                rank_and_score[1] if rank_and_score else MISSING,
                rank_and_score[0] if rank_and_score else MISSING,
                rank_and_score[1] / max(1, len(words)) if rank_and_score else MISSING,
                1.0 if rank_and_score else 0.0,
                math.log1p(seen[tag] if tag in seen else count(tag)),
                1.0 if tag in spelled_set else 0.0,
                _word_share(words, post_words),
                _word_share(words, conv_words),
                1.0 if joined and joined in post_text else 0.0,
                conv_text.count(tag) if tag else 0,
                len(words),
                len(joined),
            ]
        )
    return Candidates(tags, np.asarray(rows, dtype=np.float64).reshape(len(tags), len(FEATURES)))


def labels(example: Example, found: Candidates) -> np.ndarray:
    gold = {tag_text(t) for t in example.tags}
    return np.asarray([1 if t in gold else 0 for t in found.tags], dtype=np.int32)


@dataclass(frozen=True)
class RerankerConfig:
    trees: int = 300
    learning_rate: float = 0.05
    leaves: int = 15
    min_child_samples: int = 20
    seed: int = 13


class Reranker:
    """LightGBM's lambdarank over the candidates of each query; saved as LightGBM's own text
    model (no pickle), so a checkpoint can carry it."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    @classmethod
    def fit(cls, groups: Sequence[Candidates], targets: Sequence[np.ndarray], config: RerankerConfig) -> Reranker:
        import lightgbm

        kept = [
            (g, y) for g, y in zip(groups, targets) if len(g.tags) and y.any()
        ]  # a query with no hit teaches nothing
        if not kept:
            raise ValueError("no training query has its gold hashtag among the candidates")
        data = lightgbm.Dataset(
            np.vstack([g.features for g, _ in kept]),
            np.concatenate([y for _, y in kept]),
            group=[len(g.tags) for g, _ in kept],
            feature_name=list(FEATURES),
        )
        params = {
            "objective": "lambdarank",
            "learning_rate": config.learning_rate,
            "num_leaves": config.leaves,
            "min_child_samples": config.min_child_samples,
            "seed": config.seed,
            "deterministic": True,
            "num_threads": 1,
            "verbosity": -1,
        }
        return cls(lightgbm.train(params, data, num_boost_round=config.trees))

    def scores(self, found: Candidates) -> np.ndarray:
        if not found.tags:
            return np.zeros(0)
        # As many threads as torch may use (TORCH_THREADS): the scores come after beam search, never beside it.
        return np.asarray(self.booster.predict(found.features, num_threads=torch.get_num_threads()))

    def rank(self, found: Candidates, k: int) -> list[tuple[str, float]]:
        return self.rank_all([found], k)[0]

    def rank_all(self, groups: Sequence[Candidates], k: int) -> list[list[tuple[str, float]]]:
        """The top k of each query's candidates, scored in one call (a call costs more than a row)."""
        filled = [g for g in groups if g.tags]
        if filled:
            every = Candidates([t for g in filled for t in g.tags], np.vstack([g.features for g in filled]))
            scores = iter(np.split(self.scores(every), np.cumsum([len(g.tags) for g in filled])[:-1]))
        ranked = []
        for group in groups:
            if not group.tags:
                ranked.append([])
                continue
            mine = next(scores)
            order = np.argsort(-mine, kind="stable")[:k]
            ranked.append([(group.tags[i], float(mine[i])) for i in order])
        return ranked

    def state(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_state(cls, model: str) -> Reranker:
        import lightgbm

        return cls(lightgbm.Booster(model_str=model))
