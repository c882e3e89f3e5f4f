"""The vocabulary shared by posts, conversations and hashtags (paper, section 2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<s>", "</s>"
SPECIALS = (UNK, PAD, BOS, EOS)


@dataclass
class Vocab:
    """Index <-> word; the four specials first, then words by falling frequency."""

    itos: list[str]
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if tuple(self.itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        self.stoi = {word: i for i, word in enumerate(self.itos)}

    unk_id = 0
    pad_id = 1
    bos_id = 2
    eos_id = 3

    @classmethod
    def build(cls, token_streams: Iterable[Sequence[str]], max_size: int) -> Vocab:
        """The `max_size` most frequent words (specials included); ties broken alphabetically."""
        counts: Counter[str] = Counter()
        for tokens in token_streams:
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        words = [word for word, _ in ranked[: max(0, max_size - len(SPECIALS))]]
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(token, self.unk_id) for token in tokens]
