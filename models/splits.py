"""Train/dev splits of one corpus: the fixed tail split and k-fold cross-validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def tail_split(items: Sequence[T], dev_size: int) -> tuple[list[T], list[T]]:
    """(all but the last `dev_size`, the last `dev_size`): the Weibo dev split."""
    if not 0 < dev_size < len(items):
        raise ValueError(f"a dev split of {dev_size} needs more than {dev_size} examples (have {len(items)})")
    return list(items[:-dev_size]), list(items[-dev_size:])


def kfold(items: Sequence[T], folds: int, fold: int) -> tuple[list[T], list[T]]:
    """Fold `fold` (0-based) of `folds` contiguous, near-equal parts held out; the rest trains."""
    if not 2 <= folds <= len(items) or not 0 <= fold < folds:
        raise ValueError(f"fold {fold} of {folds} is not possible with {len(items)} examples")
    start, stop = len(items) * fold // folds, len(items) * (fold + 1) // folds
    return list(items[:start]) + list(items[stop:]), list(items[start:stop])
