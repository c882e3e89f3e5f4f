"""predict, explain, demo: hashtags for posts given by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from threadtag.cli.main import command
from threadtag.cli.options import LangOpt, ModelOpt, ProgressOpt, ReplyOpt
from threadtag.core.settings import get_settings


@command
def predict(
    model: ModelOpt,
    post: Annotated[str, typer.Option(help="The post's text.")],
    reply: ReplyOpt = None,
    lang: LangOpt = None,
    top_k: Annotated[Optional[int], typer.Option(help="How many hashtags; default TOP_K.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a list.")] = False,
) -> None:
    """Ranked hashtags for one post and its replies."""
    from threadtag.app import annotate

    annotate.predict(get_settings(), model, post, reply or [], lang, top_k, as_json)


@command
def explain(
    model: Annotated[Path, typer.Option(help="Checkpoint of a bi-attention variant (full, post_att, conv_att).")],
    post: Annotated[str, typer.Option(help="The post's text.")],
    out: Annotated[Path, typer.Option(help="Where to write the heatmap (.png).")],
    reply: ReplyOpt = None,
    lang: LangOpt = None,
) -> None:
    """Draw the bi-attention between a post and its replies as a heatmap (paper, Figure 4) and
    list the top hashtags with their scores."""
    from threadtag.app import annotate

    annotate.explain(get_settings(), model, post, reply or [], lang, out)


@command
def demo(
    model: Annotated[
        Optional[Path], typer.Option(help="Checkpoint; default MODEL_PATH, else train the sample model.")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where the sample model is written.")] = Path("runs"),
    progress: ProgressOpt = True,
) -> None:
    """Annotate the bundled sample threads (trains the small sample model first if no checkpoint is given)."""
    from threadtag.app import annotate

    settings = get_settings()
    annotate.demo(settings, model, workdir, settings.progress_bars(progress))
