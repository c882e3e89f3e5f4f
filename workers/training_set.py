"""Training data for `retrain`: labelled threads from PostgreSQL (and optional files), cleaned
as the settings say, ordered oldest first, split by time.

Gold labels come from the authors themselves: hashtags at the start or end of a root post
(removed from the text the model sees, as in training from files).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import (
    Example,
    assemble_threads,
    example_key,
    lang_of,
    load_weibo,
    post_lang,
    read_tweets,
    thread_example,
)
from threadtag.schemas.posts import InvalidPost, adapt, reads_as_retweet

# Roots in time order, each with its stored replies in time order (parked replies, whose
# root is not known yet, are left out).
THREADS_SQL = """
SELECT r.id, r.text, r.lang, r.raw,
       coalesce(array_agg(c.text ORDER BY c.created_at, c.id) FILTER (WHERE c.id IS NOT NULL), '{}') AS replies
FROM posts r LEFT JOIN posts c ON c.root_id = r.id AND c.id <> r.id
WHERE r.parent_id IS NULL AND (CAST(:since AS timestamptz) IS NULL OR r.created_at >= :since)
GROUP BY r.id
ORDER BY r.created_at, r.id
"""


@dataclass(frozen=True)
class Candidate:
    """A thread that may become a training example."""

    example: Example
    is_retweet: bool = False
    bundled_sample: bool = False  # a thread of samples/threads.jsonl that `threadtag run` replayed


@dataclass
class TrainingSet:
    examples: list[Example]  # oldest first
    skipped: Counter[str] = field(default_factory=Counter)
    candidates: int = 0

    def record(self) -> dict[str, Any]:
        """What the model_versions row and the log say about the data."""
        skipped = dict(sorted(self.skipped.items()))
        return {"candidates": self.candidates, "used": len(self.examples), "skipped": skipped}


def _is_retweet(raw: dict[str, Any], post_text: str) -> bool:
    try:
        return adapt(raw).is_retweet
    except InvalidPost:  # a bare row without its raw JSON yet
        return reads_as_retweet(post_text)


def stream_candidates(
    engine: Engine, since: datetime | None = None, bundled_sample: frozenset[str] = frozenset()
) -> list[Candidate]:
    """Root posts in the database (posted at `since` or later, if given) with their
    conversations, oldest first; those in `bundled_sample` marked as such."""
    with engine.connect() as conn:
        rows = conn.execute(text(THREADS_SQL), {"since": since}).all()
    return [
        Candidate(
            thread_example(row.text, row.replies, lang_of(row.lang, row.text)),
            _is_retweet(row.raw, row.text),
            row.id in bundled_sample,
        )
        for row in rows
    ]


def file_candidates(weibo_dirs: Sequence[Path], tweet_files: Sequence[Path]) -> list[Candidate]:
    """Threads from files given on the command line (taken as older than anything streamed)."""
    candidates = [Candidate(example) for directory in weibo_dirs for example in load_weibo(directory)]
    for path in tweet_files:
        for root, replies in assemble_threads(read_tweets(path)):
            replies = [r for r in replies if not r.is_retweet]
            example = thread_example(root.text, [r.text for r in replies], post_lang(root))
            candidates.append(Candidate(example, root.is_retweet))
    return candidates


def unseen_by(model: Checkpoint | None, examples: Sequence[Example]) -> list[Example]:
    """The examples `model` did not train on (all of them for a model without that record)."""
    seen = set(model.training.get("trained_on", [])) if model else set()
    return [ex for ex in examples if example_key(ex) not in seen]


def select(candidates: Iterable[Candidate], lang: str, settings: Settings) -> TrainingSet:
    """The candidates fit to train on, in their order; the rest counted by reason."""
    chosen = TrainingSet([])
    seen: set[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = set()
    for candidate in candidates:
        chosen.candidates += 1
        ex = candidate.example
        key = (tuple(ex.post), tuple(tuple(t) for t in ex.tags))
        if candidate.bundled_sample:
            reason = "bundled_sample"
        elif ex.lang != lang:
            reason = "other_language"
        elif candidate.is_retweet and settings.retrain_skip_retweets:
            reason = "retweet"
        elif not ex.tags:
            reason = "no_hashtags"
        elif not ex.post:
            reason = "empty_post"
        elif not ex.conv and settings.retrain_empty_conversations == "skip":
            reason = "empty_conversation"
        elif settings.retrain_deduplicate and key in seen:
            reason = "duplicate"
        else:
            seen.add(key)
            chosen.examples.append(ex)
            continue
        chosen.skipped[reason] += 1
    return chosen


def split_by_time(
    examples: Sequence[Example], holdout_fraction: float, dev_fraction: float
) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, dev, held-out): the newest examples are held out, the ones before them are dev."""
    n_holdout = max(1, math.ceil(holdout_fraction * len(examples)))
    n_dev = max(1, math.ceil(dev_fraction * len(examples)))
    if n_holdout + n_dev >= len(examples):
        raise ValueError(f"{len(examples)} examples leave nothing to train on after the dev and held-out sets")
    cut = len(examples) - n_holdout
    return list(examples[: cut - n_dev]), list(examples[cut - n_dev : cut]), list(examples[cut:])


def vocab_coverage(known: set[str] | dict[str, int], examples: Iterable[Example]) -> float:
    """Share of the examples' tokens (post, conversation, hashtags) that are in `known`."""
    total = hits = 0
    for ex in examples:
        for tokens in (ex.post, ex.conv, *ex.tags):
            total += len(tokens)
            hits += sum(1 for t in tokens if t in known)
    return hits / total if total else 0.0
