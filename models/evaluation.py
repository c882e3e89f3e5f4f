"""Score a model on examples with the paper's metrics; keep its predictions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from threadtag.models.annotator import Annotator
from threadtag.models.corpus import Example, tag_text
from threadtag.models.metrics import Scores, score
from threadtag.models.predictor import RankedHashtag

TABLE_COLUMNS = (
    ("F1@1", "f1_at_1"),
    ("F1@5", "f1_at_5"),
    ("MAP@5", "map_at_5"),
    ("RG-1", "rouge_1"),
    ("RG-SU4", "rouge_su4"),
)


@dataclass
class Evaluation:
    scores: Scores
    predictions: list[list[RankedHashtag]]


def evaluate(predictor: Annotator, examples: Sequence[Example], progress: bool = True) -> Evaluation:
    chunk = predictor.batch_size * 4
    predictions: list[list[RankedHashtag]] = []
    with tqdm(total=len(examples), desc="evaluate", unit="post", disable=not progress) as bar:
        for start in range(0, len(examples), chunk):
            part = examples[start : start + chunk]
            predictions.extend(predictor.predict_examples(part))
            bar.update(len(part))
    return Evaluation(score_ranked([[h.tag for h in p] for p in predictions], examples), predictions)


def score_ranked(ranked: Sequence[Sequence[str]], examples: Sequence[Example]) -> Scores:
    """The paper's metrics of ranked hashtags (one list per example) against the examples' gold ones."""
    lang = examples[0].lang if examples else "en"
    return score(ranked, [[tag_text(t) for t in ex.tags] for ex in examples], lang)


def markdown_table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# Under every score table: the tables are in percent, the stored metrics and the retrain gate's tolerance are not.
PERCENT_NOTE = "Scores in percent, as in the paper (model_versions.metrics and RETRAIN_F1_TOLERANCE are on 0..1)."


def format_table(rows: Sequence[tuple[str, Scores]], label: str = "model", posts: bool = True) -> str:
    """A Markdown table, scores in percent as in the paper, and PERCENT_NOTE under it; `posts` adds the posts scored."""
    header = f"| {label} | " + ("posts | " if posts else "") + " | ".join(name for name, _ in TABLE_COLUMNS) + " |"
    lines = [header, "|---|" + "---:|" * (len(TABLE_COLUMNS) + posts)]
    for name, s in rows:
        values = " | ".join(f"{100 * getattr(s, field):.2f}" for _, field in TABLE_COLUMNS)
        lines.append(f"| {name} | " + (f"{s.posts} | " if posts else "") + f"{values} |")
    return "\n".join([*lines, "", PERCENT_NOTE])


def write_predictions(path: Path, examples: Sequence[Example], predictions: Sequence[Sequence[RankedHashtag]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for ex, preds in zip(examples, predictions):
            record = {
                "post": " ".join(ex.post),
                "gold": [tag_text(t) for t in ex.tags],
                "predicted": [{"tag": p.tag, "score": round(p.score, 4)} for p in preds],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
