"""Weibo-format files as the raw tweets a live stream of them would carry: each line a root
post written as raw Weibo text (no spaces between Chinese words) with its gold hashtags as
`#...#` at its end, and its conversation as replies. For replaying the files through the
pipeline (bench/live_replay.py, the parity test)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone

from threadtag.models.corpus import weibo_post_text
from threadtag.models.text import join_words

T0 = datetime(2014, 3, 1, tzinfo=timezone.utc)
ROOT_STRIDE = 100_000  # ids between two roots: room for the replies of the longest conversation


def root_id(first_id: int, line: int) -> str:
    """The id of the root tweet that line `line` (0-based) of the files becomes."""
    return str(first_id + ROOT_STRIDE * line)


def weibo_tweets(
    lines: Sequence[tuple[str, str, str]], first_id: int = 9_000_000_000, reply_words: int | None = 15
) -> Iterator[str]:
    """v1.1 tweet JSON lines for (post, conv, tag line) triples, roots 10 minutes apart, a
    reply a minute. conv.txt keeps no reply boundaries: the conversation is cut into replies
    of `reply_words` of its words, or sent as one reply with None."""
    for i, (post, conv, tag_line) in enumerate(lines):
        root = root_id(first_id, i)
        yield _tweet(root, None, 10 * i, weibo_post_text(post, tag_line), f"u{i}")
        words = conv.split()
        step = reply_words or max(1, len(words))
        for j, start in enumerate(range(0, len(words), step)):
            yield _tweet(str(int(root) + 1 + j), root, 10 * i + 1 + j, join_words(words[start : start + step]), f"r{j}")


def _tweet(pid: str, parent: str | None, minute: int, text: str, user: str) -> str:
    stamp = (T0 + timedelta(minutes=minute)).strftime("%a %b %d %H:%M:%S %z %Y")
    return json.dumps(
        {
            "id_str": pid,
            "in_reply_to_status_id_str": parent,
            "created_at": stamp,
            "lang": "zh",
            "text": text,
            "user": {"id_str": user},
        },
        ensure_ascii=False,
    )
