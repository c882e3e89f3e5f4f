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
    def build(
        cls,
        token_streams: Iterable[Sequence[str]],
        max_size: int,
        min_freq: int = 1,
        lead_streams: Iterable[Sequence[str]] = (),
    ) -> Vocab:
        """The `max_size` most frequent words (specials included) seen at least `min_freq`
        times; ties broken alphabetically. Words of `lead_streams` (training hashtags) come
        first, whatever their count, so an output layer over the first ids covers them."""
        lead = _ranked(_counts(lead_streams), 1)
        leading = set(lead)
        rest = [w for w in _ranked(_counts(token_streams), min_freq) if w not in leading]
        return cls(list(SPECIALS) + (lead + rest)[: max(0, max_size - len(SPECIALS))])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(token, self.unk_id) for token in tokens]


def _counts(token_streams: Iterable[Sequence[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tokens in token_streams:
        counts.update(tokens)
    for special in SPECIALS:
        counts.pop(special, None)
    return counts


def _ranked(counts: Counter[str], min_freq: int) -> list[str]:
    return [w for w, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= min_freq]
