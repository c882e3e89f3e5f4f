"""Annotating by hand: predict, explain and demo on a checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

import structlog
import typer

from threadtag.app import recipes
from threadtag.core.failures import UsageError
from threadtag.core.settings import Settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.corpus import assemble_threads, post_lang, read_tweets, thread_example
from threadtag.models.explain import draw_heatmap
from threadtag.models.explain import explain as run_explain
from threadtag.models.text import detect_lang, display_hashtag

log = structlog.get_logger("threadtag")


def input_warnings(post: str, replies: list[str], model_lang: str, lang: str | None) -> list[str]:
    """What makes a prediction for this input doubtful, in words (the output still comes)."""
    problems = []
    seen_lang = lang or detect_lang(post)
    if seen_lang != model_lang:
        problems.append(f"the model was trained on {model_lang} posts; this post is {seen_lang}: expect poor hashtags")
    if not thread_example(post, replies, lang or model_lang).post:
        problems.append("the post has no words once its edge hashtags are removed: the hashtags rest on the replies")
    return problems


def predict(
    settings: Settings, model: Path, post: str, replies: list[str], lang: str | None, top_k: int | None, as_json: bool
) -> None:
    """Print the ranked hashtags of one post and its replies."""
    if lang not in (None, "en", "zh"):
        raise UsageError(f"--lang must be en or zh, not {lang!r}")
    predictor = recipes.predictor_for(model, settings, top_k)
    for problem in input_warnings(post, replies, predictor.checkpoint.lang, lang):
        log.warning(problem)
    started = time.perf_counter()
    ranked = predictor.predict_thread(post, replies, lang)
    elapsed = time.perf_counter() - started
    if as_json:
        payload = {
            "hashtags": [{"tag": h.tag, "score": h.score} for h in ranked],
            "model_version": predictor.checkpoint.version,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    # The generator alone scores by log-probability; the hybrid path by the reranker's score.
    measure = "score" if isinstance(predictor, HybridAnnotator) else "log-prob"
    for rank, h in enumerate(ranked, start=1):
        typer.echo(f"{rank}. {display_hashtag(h.tag)}  ({h.tag})  {measure} {h.score:.3f}")
    log.info("predicted", seconds=round(elapsed, 3), model_version=predictor.checkpoint.version)


def explain(settings: Settings, model: Path, post: str, replies: list[str], lang: str | None, out: Path) -> None:
    """Draw the bi-attention heatmap to `out` and print the top hashtags."""
    predictor = recipes.generator_predictor(recipes.load_checkpoint(model, settings), settings)
    example = thread_example(post, replies, lang or predictor.checkpoint.lang)
    try:
        explanation = run_explain(predictor, example)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    draw_heatmap(explanation, out, settings.explain_font)
    for rank, h in enumerate(explanation.hashtags, start=1):
        typer.echo(f"{rank}. {h.tag}  (log-prob {h.score:.3f})")
    typer.echo(f"heatmap: {out}")


def demo(settings: Settings, model: Path | None, workdir: Path, progress: bool) -> None:
    """Annotate the bundled sample threads (training the sample model when no checkpoint is given)."""
    path = model or settings.model_path
    if path is None:
        path = workdir / "sample-model.pt"
        typer.echo(f"no checkpoint given: training the small sample model -> {path}")
        checkpoint = recipes.train_sample_model(settings, path, progress)
    else:
        checkpoint = recipes.load_checkpoint(path, settings)
    predictor = recipes.predictor(checkpoint, settings)
    threads = assemble_threads(p for p in read_tweets(recipes.SAMPLE_THREADS) if not p.is_retweet)
    for root, replies in threads:
        ranked = predictor.predict_thread(root.text, [r.text for r in replies], post_lang(root))
        typer.echo(f"\n{root.id}  ({len(replies)} replies)  {root.text}")
        typer.echo("   -> " + "; ".join(f"{display_hashtag(h.tag)} ({h.score:.2f})" for h in ranked))
