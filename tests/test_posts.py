"""schemas/posts.py: what the parser cleans before a post can be stored."""

from __future__ import annotations

import pytest

from threadtag.schemas.posts import needs_cleaning


@pytest.mark.parametrize(
    ("json_text", "cleaned"),
    [
        (r'"a\ud83d\ude00b"', False),  # a whole character (a surrogate pair)
        (r'"ok\u00e9 \u4e2d"', False),
        (r'"a\ud83db"', True),  # a high surrogate alone
        (r'"x\ud83d"', True),
        (r'"cafe\ude00b"', True),  # a low surrogate alone
        (r'"\uDC00"', True),
        (r'"\ud83d\ude00\ude00"', True),  # a pair, then a low one alone
        (r'"before\u0000after"', True),  # NUL
    ],
)
def test_a_lone_surrogate_or_nul_escape_needs_cleaning(json_text: str, cleaned: bool):
    assert needs_cleaning(json_text) is cleaned
