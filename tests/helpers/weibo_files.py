"""Synthetic Weibo files: three topics, their words and their hashtags, in the shared data's layout."""

from __future__ import annotations

import random
from pathlib import Path

TOPICS = {"马航": ["飞机", "失联", "祈祷"], "世界杯": ["进球", "球队", "比赛"], "高考": ["考生", "加油", "分数"]}


def _lines(n: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    posts, convs, tags = [], [], []
    for _ in range(n):
        tag = rng.choice(list(TOPICS))
        words = TOPICS[tag]
        posts.append(" ".join(rng.choices(words, k=4)))
        convs.append(" ".join(rng.choices(words + ["哈哈", "转发"], k=6)))
        tags.append(tag)
    return posts, convs, tags


def write_weibo(directory: Path, prefix: str, n: int, seed: int) -> None:
    """`n` synthetic posts in the Weibo files' layout (post, conv, tag lines), under `prefix`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, lines in zip(("post", "conv", "tag"), _lines(n, seed)):
        (directory / f"{prefix}{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
