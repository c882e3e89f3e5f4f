"""schemas/posts.py: what the parser cleans before a post can be stored."""

from __future__ import annotations

import json

import pytest

from threadtag.schemas.posts import InvalidPost, needs_cleaning, parse_post, storable


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


@pytest.mark.parametrize(
    "extra",
    [
        '"n": 123456789012345678901234567890',  # past 64 bits: json keeps it an int
        '"n": NaN',  # json takes these three, msgspec does not
        '"n": 1e400',
        '"n": "\\ud800"',
        '"n": -0.0, "n2": 1.5e-320, "n3": 1E2',
        '"n": {"deep": [[[[1, 2.50, "x"]]]]}',
        '"n": 1, "n": 2',  # a repeated key: the last wins
    ],
)
def test_a_post_decodes_as_json_decodes_it(extra: str):
    payload = ('{"id_str": "7", "created_at": "Mon Mar 02 09:45:10 +0000 2015", "text": "hi", ' + extra + "}").encode()
    post = parse_post(payload, 10_000)
    assert repr(post.raw) == repr(storable(json.loads(payload)))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"id_str": "7",}', "not JSON: Expecting property name enclosed in double quotes at line 1 column 16"),
        (b'{"id_str": "7"} x', "not JSON: Extra data at line 1 column 17"),
    ],
)
def test_text_that_is_not_json_gets_json_s_reason(payload: bytes, reason: str):
    with pytest.raises(InvalidPost, match=reason):
        parse_post(payload, 100_000)


def test_json_nested_too_deep_raises_as_json_does():
    with pytest.raises(RecursionError):  # normalize makes it a dead letter naming RecursionError
        parse_post(b"[" * 5000 + b"]" * 5000, 100_000)
