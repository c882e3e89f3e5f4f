"""Systems compared on one split with the same metrics code (paper, Tables 4-6, Figure 3)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from threadtag.models.corpus import Example, tag_text
from threadtag.models.evaluation import score_ranked
from threadtag.models.metrics import Scores
from threadtag.models.rankers.base import HashtagRanker, tag_counts

log = structlog.get_logger(__name__)

# Upper bounds of the training-frequency buckets of Figure 3 (a post's most frequent gold tag).
FREQUENCY_BUCKETS = ((0, "unseen"), (4, "1-4"), (19, "5-19"), (99, "20-99"), (None, "100+"))


@dataclass
class SystemResult:
    name: str
    scores: Scores
    predictions: list[list[str]]
    fit_seconds: float


def run_systems(
    rankers: Sequence[HashtagRanker],
    train: Sequence[Example],
    dev: Sequence[Example],
    test: Sequence[Example],
    k: int = 5,
) -> list[SystemResult]:
    """Fit each system (dev = model selection) and score its top k on `test`."""
    results = []
    for ranker in rankers:
        started = time.perf_counter()
        ranker.fit(train, dev)
        fitted = time.perf_counter() - started
        predictions = ranker.rank(test, k)
        result = SystemResult(ranker.name, score_ranked(predictions, test), predictions, fitted)
        log.info("system scored", system=ranker.name, f1_at_1=round(result.scores.f1_at_1, 4), fit_s=round(fitted))
        results.append(result)
    return results


def bucket_of(example: Example, counts: dict[str, int]) -> str:
    frequency = max(counts.get(tag_text(t), 0) for t in example.tags)
    return next(label for bound, label in FREQUENCY_BUCKETS if bound is None or frequency <= bound)


def subset_scores(result: SystemResult, test: Sequence[Example], indices: Sequence[int]) -> Scores:
    return score_ranked([result.predictions[i] for i in indices], [test[i] for i in indices])


def by_frequency(
    results: Sequence[SystemResult], train: Sequence[Example], test: Sequence[Example]
) -> tuple[list[tuple[str, int]], dict[str, list[float]]]:
    """([(bucket, posts)], system -> F1@1 per bucket)."""
    counts = tag_counts(train)
    members: dict[str, list[int]] = {label: [] for _, label in FREQUENCY_BUCKETS}
    for i, ex in enumerate(test):
        members[bucket_of(ex, counts)].append(i)
    buckets = [(label, len(members[label])) for _, label in FREQUENCY_BUCKETS]
    f1 = {
        r.name: [subset_scores(r, test, members[label]).f1_at_1 if members[label] else 0.0 for label, _ in buckets]
        for r in results
    }
    return buckets, f1


def unseen(train: Sequence[Example], test: Sequence[Example]) -> list[int]:
    """Test posts none of whose gold hashtags occur in training (Table 5)."""
    counts = tag_counts(train)
    return [i for i, ex in enumerate(test) if bucket_of(ex, counts) == FREQUENCY_BUCKETS[0][1]]


def new_hashtags(train: Sequence[Example], test: Sequence[Example], known: Collection[str]) -> list[int]:
    """Test posts none of whose gold hashtags occurs in training or among the `known` ones (the
    inventory): hashtags nobody has written yet, which only a generator can answer."""
    counts = tag_counts(train)
    return [i for i, ex in enumerate(test) if not any(tag_text(t) in counts or tag_text(t) in known for t in ex.tags)]


def system_color(j: int) -> tuple[float, ...]:
    """The j-th system's colour: tab20's ten dark shades, then its ten light ones, so up to 20
    systems are told apart (the default cycle repeats after ten: HYBRID was RANDOM's blue)."""
    import matplotlib

    shades = matplotlib.colormaps["tab20"].colors
    return tuple(shades[(2 * j) % 20 + (j // 10) % 2])


def plot_by_frequency(path: Path, buckets: Sequence[tuple[str, int]], f1: dict[str, list[float]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(f1))
    for j, (name, values) in enumerate(f1.items()):
        xs = [i + j * width for i in range(len(buckets))]
        ax.bar(xs, [100 * v for v in values], width, label=name, color=system_color(j))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(buckets))])
    ax.set_xticklabels([f"{label}\n({n} posts)" for label, n in buckets])
    ax.set_xlabel("training frequency of the post's hashtag")
    ax.set_ylabel("F1@1 (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
