"""Options several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

WeiboOpt = Annotated[
    Optional[Path],
    typer.Option(
        help="Directory with Weibo-style post.txt, conv.txt, tag.txt (dev = the last lines), or the authors' "
        "layout train_/valid_{post,conv,tag}.txt (dev = valid_*)."
    ),
]
TestOpt = Annotated[
    Optional[Path],
    typer.Option(
        help="Score on this separate test set instead of the dev split: a Weibo-style directory "
        "(test_* files of the authors' layout, else post.txt...) or a tweets JSONL(.gz)."
    ),
]
TweetsOpt = Annotated[Optional[Path], typer.Option(help="JSONL(.gz) of Twitter v1.1 tweets; threads are assembled.")]
DevLastOpt = Annotated[
    Optional[int],
    typer.Option(
        help="Dev split = the last N lines (Weibo) or threads (tweets). Default: WEIBO_DEV_LINES / 10% of threads."
    ),
]
ProgressOpt = Annotated[bool, typer.Option(help="Show progress bars.")]
ModelOpt = Annotated[Path, typer.Option(help="Checkpoint to use.")]
ReplyOpt = Annotated[Optional[list[str]], typer.Option(help="A reply's text, in time order; repeat for more.")]
LangOpt = Annotated[Optional[str], typer.Option(help="en or zh; default: the checkpoint's language.")]
