"""HYBRID: the generator of another ranker (already fitted) with the retrieval votes and the
inventory, reranked (models/annotator.py): what users see."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from threadtag.models.annotator import HybridAnnotator
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import Example
from threadtag.models.rankers.generator import GeneratorRanker


class HybridRanker:
    def __init__(
        self,
        generator: GeneratorRanker,
        make_annotator: Callable[[Checkpoint, Sequence[Example]], HybridAnnotator],
        with_generator: bool = True,
    ) -> None:
        self.generator = generator
        self.make_annotator = make_annotator
        self.with_generator = with_generator  # False: the ablation, no generator candidate and no beam search
        self.name = "HYBRID" if with_generator else "HYBRID without the generator"
        self.annotator: HybridAnnotator | None = None

    def fit(self, train: Sequence[Example], dev: Sequence[Example]) -> None:
        assert self.generator.predictor is not None, "the generator's ranker is fitted first"
        annotator = self.make_annotator(self.generator.predictor.checkpoint, train)
        self.annotator = annotator if self.with_generator else annotator.without_generator()

    def rank(self, examples: Sequence[Example], k: int) -> list[list[str]]:
        assert self.annotator is not None, "fit first"
        return [[h.tag for h in hyps[:k]] for hyps in self.annotator.predict_examples(examples)]
