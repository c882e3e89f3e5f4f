"""Fitting the hybrid's reranker on the training posts themselves, each seen as a new post
would see the index and the inventory: leave-one-out votes (never its own), an inventory
without its hashtags, and generator beams only from generators that did not train on it."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from threadtag.models.annotator import HybridModel, without_generator
from threadtag.models.corpus import Example
from threadtag.models.hybrid import HybridConfig, Reranker, RerankerConfig, candidates, labels, read_part
from threadtag.models.inventory import HashtagInventory
from threadtag.models.predictor import RankedHashtag
from threadtag.models.retrieval import RetrievalConfig, RetrievalIndex

log = structlog.get_logger(__name__)


def fit_hybrid(
    train: Sequence[Example],
    inventory: HashtagInventory,
    retrieval: RetrievalConfig,
    config: HybridConfig,
    reranker: RerankerConfig,
    out_of_fold_beams: Sequence[Sequence[RankedHashtag]] | None = None,
    min_queries: int = 50,
) -> HybridModel:
    """`inventory` holds the hashtags seen besides `train` (tag lines without their posts):
    `train`'s own hashtags reach the reranker through the votes alone, so a training post
    sees the inventory as a new post does, its own hashtags not counted (counting them lifts
    every training post's gold by one: dev F1@1 22.83 against 27.59 without).
    Without `out_of_fold_beams` the reranker learns without the generator's
    features (the generator still adds candidates). With fewer than `min_queries` training
    posts whose gold is among their candidates, no reranker is learned."""
    train = [read_part(e, config.conv_tokens) for e in train]
    index = RetrievalIndex.fit(train, retrieval)
    votes = index.votes(train, exclude=index.add_training_posts(train))
    beams = out_of_fold_beams or [[] for _ in train]
    groups = [candidates(ex, v, b, inventory, config) for ex, v, b in zip(train, votes, beams)]
    if out_of_fold_beams is None:
        groups = [without_generator(g) for g in groups]
    targets = [labels(ex, g) for ex, g in zip(train, groups)]
    with_hit = sum(1 for y in targets if y.any())
    log.info(
        "reranker data", queries=len(train), with_gold_among_candidates=with_hit, rows=sum(len(g.tags) for g in groups)
    )
    learned = Reranker.fit(groups, targets, reranker) if with_hit >= min_queries else None
    if learned is None:
        log.warning("too few training posts for a reranker: votes then the beam, in order", queries=with_hit)
    return HybridModel(index, inventory, learned, config, out_of_fold_beams is not None)
