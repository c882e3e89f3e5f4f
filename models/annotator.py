"""What users see: the hybrid annotation of posts, offline (evaluate, compare, predict) and
live (the inference worker) through the same object.

The generator runs on every request; its beam, the retrieval votes of the labelled posts
indexed so far and the hashtag inventory give the candidates, which the reranker orders.
A checkpoint carries the generator and, under `ranker`, the rest (HybridModel.state()).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example, conversation_tokens_read, tag_text, thread_example
from threadtag.models.hybrid import FEATURES, MISSING, Candidates, HybridConfig, Reranker, candidates, read_part
from threadtag.models.inventory import HashtagInventory
from threadtag.models.predictor import HashtagPredictor, RankedHashtag
from threadtag.models.retrieval import RetrievalConfig, RetrievalIndex


@dataclass
class HybridModel:
    """Everything beyond the generator that the hybrid path needs, in plain data."""

    index: RetrievalIndex  # fitted spaces, holding the training posts
    inventory: HashtagInventory
    reranker: Reranker | None  # None: too little data to learn one; votes then the beam, in order
    config: HybridConfig
    uses_generator_features: bool

    def state(self, indexed: Sequence[Example]) -> dict[str, Any]:
        indexed = [read_part(e, self.config.conv_tokens) for e in indexed]
        return {
            "retrieval": {**self.index.state(), "config": asdict(self.index.config)},
            "indexed": [[e.post, e.conv, e.tags] for e in indexed],
            "lang": indexed[0].lang if indexed else "en",
            "inventory": self.inventory.state(),
            "reranker": self.reranker.state() if self.reranker else None,
            "config": asdict(self.config),
            "uses_generator_features": self.uses_generator_features,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HybridModel:
        retrieval = dict(state["retrieval"])
        # A checkpoint from before query_terms searched with every word of a query; one from
        # before character n-grams, with words alone.
        before = {"query_terms": 0, "char_ngrams": 0, "char_weight": 1.0}
        index = RetrievalIndex.from_state(retrieval, RetrievalConfig(**{**before, **retrieval["config"]}))
        lang = state["lang"]
        indexed = [Example(list(p), list(c), [list(t) for t in tags], lang) for p, c, tags in state["indexed"]]
        index.add_training_posts(indexed)
        reranker = Reranker.from_state(state["reranker"]) if state["reranker"] else None
        return cls(
            # A checkpoint from before conv_tokens read whole conversations.
            index,
            HashtagInventory.from_state(state["inventory"]),
            reranker,
            HybridConfig(**{"conv_tokens": 0, **state["config"]}),
            state["uses_generator_features"],
        )


def without_generator(found: Candidates) -> Candidates:
    """The same candidates with the generator's features missing (a reranker trained without them)."""
    features = found.features.copy()
    for name in ("generator_logprob", "generator_rank", "generator_logprob_per_word"):
        features[:, FEATURES.index(name)] = MISSING
    features[:, FEATURES.index("in_beam")] = 0.0
    return Candidates(found.tags, features)


# When beam search runs: for every post, or only for those the votes and the inventory give
# fewer than top-k candidates (the generator then fills the list).
Decode = Literal["always", "short"]


class HybridAnnotator:
    """Ranked hashtags for posts: HashtagPredictor's interface, the hybrid path behind it."""

    def __init__(self, predictor: HashtagPredictor, model: HybridModel, top_k: int, decode: Decode = "always") -> None:
        self.predictor = predictor
        self.model = model
        self.top_k = top_k
        self.decode = decode  # "short": beam search only for posts the other sources give fewer than top_k

    @property
    def checkpoint(self) -> Checkpoint:
        return self.predictor.checkpoint

    @property
    def batch_size(self) -> int:
        return self.predictor.batch_size

    @property
    def conv_tokens_read(self) -> int:
        """Conversation tokens this path reads at most (0: all): the generator's and the hybrid's."""
        return conversation_tokens_read(self.predictor.conv_tokens_read, self.model.config.conv_tokens)

    @property
    def runs_generator(self) -> bool:
        """Whether beam search runs: its hashtags are candidates, or the reranker reads its features."""
        return self.model.config.beam_candidates > 0 or self.model.uses_generator_features

    def without_generator(self) -> HybridAnnotator:
        """The same path with no generator candidate and no beam search (the ablation's row),
        for a reranker that does not read the generator's features (HYBRID_GENERATOR_FOLDS 0)."""
        if self.model.uses_generator_features:
            raise ValueError("this reranker reads the generator's features: it has no path without the generator")
        model = copy.copy(self.model)
        model.config = replace(model.config, beam_candidates=0)
        return HybridAnnotator(self.predictor, model, self.top_k, self.decode)

    def learn(self, keys: Sequence[str], examples: Sequence[Example], stamps: Sequence[float]) -> None:
        """Labelled posts seen since: retrievable from now on, their hashtags in the inventory."""
        cut = self.model.config.conv_tokens
        labelled = [(k, read_part(e, cut), s) for k, e, s in zip(keys, examples, stamps) if e.tags and e.post]
        if not labelled:
            return
        self.model.index.add([k for k, _, _ in labelled], [e for _, e, _ in labelled], [s for _, _, s in labelled])
        for key, example, stamp in labelled:
            self.model.inventory.learn(key, [tag_text(t) for t in example.tags], stamp)

    def rank(
        self,
        examples: Sequence[Example],
        exclude: Sequence[str | None] | None = None,
        before: Sequence[float | None] | None = None,
    ) -> list[list[RankedHashtag]]:
        """Top-k hashtags of each example; `exclude[i]` (its own key) and posts stamped at or
        after `before[i]` do not vote for it."""
        read = [read_part(e, self.model.config.conv_tokens) for e in examples]
        votes = self.model.index.votes(read, exclude, before)
        inventory = self.model.inventory
        reranker = self.model.reranker

        def found_with(i: int, beam: Sequence[RankedHashtag]) -> Candidates:
            key, moment = (exclude[i] if exclude else None), (before[i] if before else None)
            seen = lambda tag: inventory.count(tag, moment, key)  # noqa: E731
            return candidates(read[i], votes[i], beam, inventory, self.model.config, seen)

        beams: list[Sequence[RankedHashtag]] = [[] for _ in read]
        without_beam: dict[int, Candidates] = {}  # what a short check built, kept for the posts it left undecoded
        decoded: list[int] = []
        if self.runs_generator:
            if self.decode == "always" or self.model.uses_generator_features:  # its features need every beam
                decoded = list(range(len(read)))
            elif reranker is None:  # the answer is the votes, then the beam: only the votes fill it
                decoded = [i for i, v in enumerate(votes) if len(v.ranked()) < self.top_k]
            else:
                without_beam = {i: found_with(i, []) for i in range(len(read))}
                decoded = [i for i, f in without_beam.items() if len(f.tags) < self.top_k]
            beamed = self.predictor.predict_examples([examples[i] for i in decoded]) if decoded else []
            for i, beam in zip(decoded, beamed):
                beams[i] = beam
                without_beam.pop(i, None)
        if reranker is None:
            return [
                [
                    RankedHashtag(tag, 0.0)
                    for tag in list(dict.fromkeys([*v.ranked(), *(h.tag for h in b)]))[: self.top_k]
                ]
                for v, b in zip(votes, beams)
            ]
        found = [without_beam[i] if i in without_beam else found_with(i, beams[i]) for i in range(len(read))]
        if not self.model.uses_generator_features:
            found = [without_generator(f) for f in found]
        return [[RankedHashtag(t, round(s, 4)) for t, s in top] for top in reranker.rank_all(found, self.top_k)]

    def predict_examples(self, examples: Sequence[Example]) -> list[list[RankedHashtag]]:
        return self.rank(examples)

    def predict_thread(self, post: str, replies: Sequence[str], lang: str | None = None) -> list[RankedHashtag]:
        return self.rank([thread_example(post, replies, lang or self.checkpoint.lang)])[0]


# What serves a checkpoint: the generator alone, or the hybrid path around it.
Annotator = HashtagPredictor | HybridAnnotator
