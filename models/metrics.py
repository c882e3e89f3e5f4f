"""The paper's metrics (section 3): micro F1@K, MAP@K, ROUGE-1 F1 and ROUGE-SU4 F1.

- Precision@K = correct predictions in the top K / (K x posts); Recall@K = correct / gold
  tags; F1@K their harmonic mean (micro, over the whole set).
- MAP@K: per post, the sum of precision@i at each rank i that hits a gold tag, divided by
  the number of gold tags; averaged over posts.
- ROUGE F1 of the top-1 prediction against each gold tag, averaged over the post's gold
  tags, then over posts. Units as the paper's scorer counts them: each Chinese character
  alone, Latin words and numbers whole (English ones Porter-stemmed), punctuation dropped.
  ROUGE-SU4 counts unigrams plus skip-bigrams with at most 4 words between the pair.
- Tags are compared after stripping; English tags after stemming each word. Chinese tags
  ignore the spaces of word segmentation (the hashtag itself had none).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


_CJK = "\u3400-\u9fff\uf900-\ufaff"
# One CJK character, or a run of other letters/digits; everything else (punctuation, spaces) separates.
_UNIT_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def _units(tag: str, lang: str) -> list[str]:
    """ROUGE units of a tag: CJK characters one by one, other words whole (stemmed for
    English), punctuation dropped."""
    units = _UNIT_RE.findall(tag.lower())
    if lang == "zh":
        return units
    return [_stemmer().stem(w) for w in units]


def normalize_tag(tag: str, lang: str) -> str:
    if lang == "zh":
        return "".join(tag.split()).lower()
    return " ".join(_units(tag, lang))


def _f1(overlap: float, pred_total: int, gold_total: int) -> float:
    if overlap == 0 or pred_total == 0 or gold_total == 0:
        return 0.0
    precision, recall = overlap / pred_total, overlap / gold_total
    return 2 * precision * recall / (precision + recall)


def _overlap_f1(pred: Counter[object], gold: Counter[object]) -> float:
    return _f1(sum((pred & gold).values()), sum(pred.values()), sum(gold.values()))


def rouge_1_f1(pred_units: Sequence[str], gold_units: Sequence[str]) -> float:
    return _overlap_f1(Counter(pred_units), Counter(gold_units))


def _su_grams(units: Sequence[str], max_gap: int) -> Counter[object]:
    grams: Counter[object] = Counter(units)
    for i in range(len(units)):
        for j in range(i + 1, min(len(units), i + max_gap + 2)):
            grams[(units[i], units[j])] += 1
    return grams


def rouge_su_f1(pred_units: Sequence[str], gold_units: Sequence[str], max_gap: int = 4) -> float:
    return _overlap_f1(_su_grams(pred_units, max_gap), _su_grams(gold_units, max_gap))


@dataclass(frozen=True)
class Scores:
    posts: int
    f1_at_1: float
    f1_at_5: float
    precision_at_1: float
    recall_at_1: float
    precision_at_5: float
    recall_at_5: float
    map_at_5: float
    rouge_1: float
    rouge_su4: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _distinct(tags: Sequence[str], lang: str) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        seen.setdefault(normalize_tag(tag, lang), None)
    return [t for t in seen if t]


def hits_at(ranked: Sequence[str], gold: Sequence[str], k: int, lang: str) -> int:
    """Correct hashtags among the top k distinct predictions (compared as `score` compares them)."""
    return len(set(_distinct(ranked, lang)[:k]) & set(_distinct(gold, lang)))


def f1_of_counts(correct: int, predicted: int, gold: int) -> float:
    """Micro F1 from summed counts (predicted = K x posts, as the paper's precision@K)."""
    return _f1(correct, predicted, gold)


def _precision_recall_at(predictions: list[list[str]], golds: list[set[str]], k: int) -> tuple[float, float, float]:
    correct = sum(len(set(pred[:k]) & gold) for pred, gold in zip(predictions, golds))
    gold_total = sum(len(g) for g in golds)
    precision = correct / (k * len(predictions)) if predictions else 0.0
    recall = correct / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def average_precision(ranked: Sequence[str], gold: set[str], k: int) -> float:
    hits, total = 0, 0.0
    for rank, tag in enumerate(ranked[:k], start=1):
        if tag in gold:
            hits += 1
            total += hits / rank
    return total / len(gold) if gold else 0.0


def score(predictions: Sequence[Sequence[str]], golds: Sequence[Sequence[str]], lang: str) -> Scores:
    """Score ranked predictions (tag strings, words joined by spaces) against gold tag lists."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} prediction lists for {len(golds)} posts")
    preds = [_distinct(p, lang) for p in predictions]
    gold_sets = [set(_distinct(g, lang)) for g in golds]
    p1, r1, f1_1 = _precision_recall_at(preds, gold_sets, 1)
    p5, r5, f1_5 = _precision_recall_at(preds, gold_sets, 5)
    posts = len(preds)
    mean_ap = sum(average_precision(p, g, 5) for p, g in zip(preds, gold_sets)) / posts if posts else 0.0
    rouge_1 = rouge_su4 = 0.0
    for raw_pred, gold in zip(predictions, golds):
        if not raw_pred or not gold:
            continue
        top = _units(raw_pred[0], lang)
        gold_units = [_units(g, lang) for g in gold]
        rouge_1 += sum(rouge_1_f1(top, g) for g in gold_units) / len(gold_units)
        rouge_su4 += sum(rouge_su_f1(top, g) for g in gold_units) / len(gold_units)
    return Scores(
        posts=posts,
        f1_at_1=f1_1,
        f1_at_5=f1_5,
        precision_at_1=p1,
        recall_at_1=r1,
        precision_at_5=p5,
        recall_at_5=r5,
        map_at_5=mean_ap,
        rouge_1=rouge_1 / posts if posts else 0.0,
        rouge_su4=rouge_su4 / posts if posts else 0.0,
    )
