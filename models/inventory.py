"""The hashtags people actually write, with how often and when they were last seen: a prior
for ranking, and candidates a post's own words spell out.

Filled from labelled examples, from tag lines without their posts (the Weibo
`inventory_tag.txt`), and, live, from the edge hashtags of every root the stream stores.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from threadtag.models.corpus import Example, tag_text, weibo_tags


class HashtagInventory:
    """`counts` are everything seen; `count(tag, before, exclude)` what a query may see: the
    posts added with `learn` count only when stamped before its time and not its own."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.last_seen: dict[str, float] = {}
        # Each tag under its first word, with the rest of its words: spelled_out's one check a tag.
        self._by_first_word: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
        self._stamps: dict[str, list[float]] = defaultdict(list)  # per tag, sorted: learned posts' stamps
        self._learned: dict[str, tuple[list[str], float]] = {}  # key -> (its tags, its stamp)

    def __len__(self) -> int:
        return len(self.counts)

    def add(self, tags: Iterable[str], stamp: float = 0.0) -> None:
        """Count hashtags (words joined by spaces) seen at `stamp`."""
        for tag in tags:
            if tag not in self.counts and (words := tag.split()):
                self._by_first_word[words[0]].append((tag, frozenset(words[1:])))
            self.counts[tag] += 1
            self.last_seen[tag] = max(stamp, self.last_seen.get(tag, stamp))

    def learn(self, key: str, tags: Sequence[str], stamp: float) -> None:
        """A stored post's hashtags (once per key: a post indexed again counts once)."""
        if key in self._learned:
            return
        self._learned[key] = (list(tags), stamp)
        self.add(tags, stamp)
        for tag in tags:
            bisect.insort(self._stamps[tag], stamp)

    def count(self, tag: str, before: float | None = None, exclude: str | None = None) -> int:
        """How often `tag` was seen by posts stamped before `before` other than `exclude`
        (tag lines count always)."""
        total = self.counts.get(tag, 0)
        if before is not None and tag in self._stamps:
            stamps = self._stamps[tag]
            total -= len(stamps) - bisect.bisect_left(stamps, before)
        own = self._learned.get(exclude) if exclude is not None else None
        if own is not None and tag in own[0] and (before is None or own[1] < before):
            total -= own[0].count(tag)
        return total

    def add_examples(self, examples: Iterable[Example], stamp: float = 0.0) -> None:
        for example in examples:
            self.add((tag_text(t) for t in example.tags), stamp)

    def add_tag_lines(self, path: Path) -> None:
        """A file of `;`-separated hashtags a line (words separated by spaces), as Weibo's
        tag.txt; each tag segmented as the stream segments it (weibo_tags)."""
        for line in path.read_text(encoding="utf-8").splitlines():
            self.add(weibo_tags(line))

    def spelled_out(self, tokens: Sequence[str]) -> list[str]:
        """Known hashtags all of whose words occur among `tokens`."""
        present = set(tokens)
        return sorted(tag for word in present for tag, rest in self._by_first_word.get(word, ()) if rest <= present)

    def state(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "last_seen": dict(self.last_seen)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HashtagInventory:
        inventory = cls()
        for tag, count in state["counts"].items():
            inventory.add([tag], state["last_seen"].get(tag, 0.0))
            inventory.counts[tag] = count
        return inventory
