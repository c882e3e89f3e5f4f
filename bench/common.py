"""Shared bits of the benchmark scripts: where the Weibo data lies, the machine description and a Markdown table."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

import torch

from threadtag.models.evaluation import markdown_table

WEIBO = Path(__file__).resolve().parents[2] / "shared" / "data" / "weibo"  # read in place, never copied
FIRST_ID = 9_000_000_000  # the first tweet id a Weibo replay gives (pipeline/weibo_tweets.py)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {gpu}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return markdown_table(header, rows)
