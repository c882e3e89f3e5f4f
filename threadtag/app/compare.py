"""`threadtag compare`: the paper's systems on one split, as a Markdown report with a plot."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import partial
from pathlib import Path

from threadtag.app import configs, recipes
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.comparison import (
    SystemResult,
    by_frequency,
    new_hashtags,
    plot_by_frequency,
    run_systems,
    subset_scores,
    unseen,
)
from threadtag.models.corpus import Example
from threadtag.models.evaluation import format_table
from threadtag.models.metrics import Scores
from threadtag.models.rankers.base import HashtagRanker
from threadtag.models.rankers.classifier import ClassifierConfig, ClassifierRanker
from threadtag.models.rankers.extractor import ExtractorConfig, ExtractorRanker
from threadtag.models.rankers.generator import GeneratorRanker
from threadtag.models.rankers.hybrid import HybridRanker
from threadtag.models.rankers.lda import LdaRanker
from threadtag.models.rankers.random_ranker import RandomRanker
from threadtag.models.rankers.retrieval import RetrievalRanker
from threadtag.models.rankers.tfidf import TfidfRanker

SEQ2SEQ, COPY, OURS = "SEQ2SEQ", "SEQ2SEQ-COPY", "OUR MODEL (full)"
# Table 6 rows in the paper's order; the first and the last are SEQ2SEQ and OUR MODEL of Table 4.
ABLATION_NAMES = {
    "seq2seq_post": "seq2seq, post only",
    "seq2seq_conv": "seq2seq, conversation only",
    "seq2seq_concat": "seq2seq, post + conversation concatenated",
    "post_att": "post-attention only (v_p)",
    "conv_att": "conversation-attention only (v_c)",
    "full": "full (bi-attention, [v_p; v_c])",
}


def generator(settings: Settings, variant: str, name: str, models_dir: Path | None, progress: bool) -> GeneratorRanker:
    def train_fn(train: Sequence[Example], dev: Sequence[Example]) -> Checkpoint:
        return recipes.fit(settings, list(train), list(dev), variant=variant, progress=progress)

    path = models_dir / f"{variant}.pt" if models_dir else None
    return GeneratorRanker(name, train_fn, partial(recipes.generator_predictor, settings=settings), path)


def baselines(settings: Settings, lang: str) -> list[HashtagRanker]:
    loop = {
        "epochs": settings.baseline_epochs,
        "batch_size": settings.baseline_batch_size,
        "lr": settings.baseline_lr,
        "seed": settings.train_seed,
    }
    cnn = ClassifierConfig(
        embed_dim=settings.embed_dim, filters=settings.classifier_filters, window=settings.classifier_window, **loop
    )
    tagger = ExtractorConfig(
        embed_dim=settings.embed_dim, hidden_size=settings.extractor_hidden_size, max_span=settings.tag_max_len, **loop
    )
    limits, device, vocab = configs.text_limits(settings, lang), configs.device(settings), settings.vocab_size(lang)
    return [
        RandomRanker(settings.train_seed),
        TfidfRanker(settings.tfidf_max_n),
        LdaRanker(settings.lda_topics, settings.lda_max_iter, settings.train_seed),
        ExtractorRanker(tagger, limits, vocab, device),
        ClassifierRanker(False, cnn, limits, vocab, device),
        ClassifierRanker(True, cnn, limits, vocab, device),
    ]


def run_compare(
    settings: Settings,
    train: Sequence[Example],
    dev: Sequence[Example],
    out_dir: Path,
    models_dir: Path | None,
    command: str,
    progress: bool = True,
    test: Sequence[Example] | None = None,
) -> Path:
    """Fit every system (dev = model selection) and score it on `test`, else on dev; write
    `out_dir`/compare.md and the Figure 3 plot."""
    lang = train[0].lang
    scored = test or dev
    ours = generator(settings, "full", OURS, models_dir, progress)
    table4 = [
        *baselines(settings, lang),
        RetrievalRanker(configs.retrieval_config(settings)),
        generator(settings, "seq2seq_post", SEQ2SEQ, models_dir, progress),
        generator(settings, "seq2seq_copy", COPY, models_dir, progress),
        ours,
        HybridRanker(ours, partial(recipes.hybrid_annotator, settings)),
        HybridRanker(ours, partial(recipes.hybrid_annotator, settings), with_generator=False),
    ]
    results = run_systems(table4, train, dev, scored, settings.top_k)
    others = [v for v in ABLATION_NAMES if v not in ("seq2seq_post", "full")]
    rest = run_systems(
        [generator(settings, v, ABLATION_NAMES[v], models_dir, progress) for v in others],
        train,
        dev,
        scored,
        settings.top_k,
    )
    by_name = {r.name: r for r in results}
    by_variant = {"seq2seq_post": by_name[SEQ2SEQ], "full": by_name[OURS], **dict(zip(others, rest))}
    ablation = [(ABLATION_NAMES[v], by_variant[v].scores) for v in ABLATION_NAMES]
    buckets, f1 = by_frequency(results, train, scored)
    plot = plot_by_frequency(out_dir / "f1_by_hashtag_frequency.png", buckets, f1)
    report = out_dir / "compare.md"
    what = "a separate test set" if test else "the dev split, also used for model selection"
    known = set(recipes.inventory(settings).counts)
    text = _report(command, train, scored, what, results, ablation, buckets, f1, plot.name, known)
    report.write_text(text, encoding="utf-8")
    return report


def _report(
    command: str,
    train: Sequence[Example],
    dev: Sequence[Example],
    what: str,
    results: Sequence[SystemResult],
    ablation: Sequence[tuple[str, Scores]],
    buckets: Sequence[tuple[str, int]],
    f1: dict[str, list[float]],
    plot_name: str,
    inventory_tags: Collection[str],
) -> str:
    held_unseen, held_new = unseen(train, dev), new_hashtags(train, dev, inventory_tags)

    def on(indices: Sequence[int], result: SystemResult) -> str:
        if not indices:
            return "- | -"
        scores = subset_scores(result, dev, indices)
        return f"{100 * scores.f1_at_1:.2f} | {100 * scores.rouge_1:.2f}"

    unseen_rows = "\n".join(f"| {r.name} | {on(held_unseen, r)} | {on(held_new, r)} |" for r in results)
    bucket_header = "| system | " + " | ".join(f"{label} ({n})" for label, n in buckets) + " |"
    bucket_rows = "\n".join(
        f"| {name} | " + " | ".join(f"{100 * v:.2f}" for v in values) + " |" for name, values in f1.items()
    )
    return f"""# Hashtag systems compared

Made by `{command}`: {len(train)} training posts, {len(dev)} evaluation posts ({what}).
Scores in percent, top-5 lists; the same metrics code (`models/metrics.py`) scores every
system.

## Main comparison (paper, Table 4)

{format_table([(r.name, r.scores) for r in results], "system", posts=False)}

Seconds to fit: {", ".join(f"{r.name} {r.fit_seconds:.0f}" for r in results)} (0 = reused checkpoint).

## Ablation (paper, Table 6)

{format_table(ablation, "system", posts=False)}

## Hashtags never seen in training (paper, Table 5)

F1@1 and ROUGE-1 F1 of the top-1 hashtag on the {len(held_unseen)} evaluation posts none of
whose hashtags occurs in training, and on the {len(held_new)} of them none of whose hashtags
occurs in the inventory either (`INVENTORY_PATH`): hashtags nobody has written yet, which
only a generator can answer.

| system | F1@1, not in training | RG-1, not in training | F1@1, in neither | RG-1, in neither |
|---|---:|---:|---:|---:|
{unseen_rows}

## F1@1 by the training frequency of the post's hashtag (paper, Figure 3)

A post falls in the bucket of its most frequent gold hashtag; posts per bucket in brackets.

{bucket_header}
|---|{"---:|" * len(buckets)}
{bucket_rows}

![F1@1 by hashtag frequency]({plot_name})
"""
