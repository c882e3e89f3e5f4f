"""Hostile raw messages, one builder per class, with what the stream must make of each:
stored (as a post, maybe cleaned) or dead-lettered (with a reason naming the trouble).
Shared by tests/test_hostile_input.py and bench/hostile_mix.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from tests.helpers.streaming import tweet


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[int], list[bytes | None]]  # unique ids from the given base; None: a tombstone
    stored: int  # posts each build stores
    dead: int  # dead letters each build gives (orphans once ORPHAN_TTL_SECONDS passed: no longer stored)
    reason: str  # part of the dead letters' reason


def _v1(pid: int, **fields: object) -> bytes:
    return json.dumps({**json.loads(tweet(pid, None, 0)), **fields}).encode()


def _year_10000_reply_then_root(i: int) -> list[bytes | None]:
    """Year 9999 at -14:00 is year 10000 in UTC: past what PostgreSQL hands back to Python."""
    reply = {**json.loads(tweet(i + 1, i, 0)), "created_at": "Fri Dec 31 23:59:59 -1400 9999"}
    return [json.dumps(reply).encode(), tweet(i, None, 0)]


CLASSES = [
    Hostile("NUL in the text", lambda i: [_v1(i, text="before\u0000after words")], 1, 0, ""),
    Hostile("user.id_str as a number", lambda i: [_v1(i, user={"id_str": 5})], 0, 1, "ValidationError"),
    Hostile(
        "Twitter v2 created_at 1e20",
        lambda i: [
            json.dumps({"data": {"id": str(i), "text": "x y", "created_at": 1e20, "conversation_id": str(i)}}).encode()
        ],
        0,
        1,
        "Error",
    ),  # fmt: skip
    Hostile("JSON nested 100,000 deep", lambda i: [b"[" * 100_000 + b"]" * 100_000], 0, 1, "RecursionError"),
    Hostile("a 5 MB message", lambda i: [_v1(i, text="x" * 5_000_000)], 0, 1, "exceeds the limit"),
    Hostile("invalid JSON", lambda i: [b'{"id_str": "' + str(i).encode() + b'", '], 0, 1, "not JSON"),
    Hostile("invalid UTF-8", lambda i: [b"\xff\xfe" + tweet(i, None, 0)], 0, 1, "not valid UTF-8"),
    Hostile("wrong types", lambda i: [_v1(i, id_str=[i])], 0, 1, "must be a non-empty string"),
    Hostile("a lang the database cannot hold", lambda i: [_v1(i, lang="x" * 100)], 0, 1, "DataError"),
    Hostile("SQL in the text", lambda i: [_v1(i, text="'); DROP TABLE posts; -- words")], 1, 0, ""),
    Hostile("emoji and right-to-left text", lambda i: [_v1(i, text="שלום עולם 🙂‍↔️ مرحبا \u202eevil")], 1, 0, ""),
    Hostile("a reply to itself", lambda i: [tweet(i, i, 0)], 0, 1, "replies to itself"),
    Hostile("a 2-cycle of replies", lambda i: [tweet(i, i + 1, 0), tweet(i + 1, i, 0)], 0, 2, "orphan reply"),
    Hostile("a tombstone (no value)", lambda i: [None], 0, 1, "tombstone"),
    Hostile("an empty value", lambda i: [b""], 0, 1, "empty message"),
    Hostile("a 5,000-digit id", lambda i: [_v1(i, id_str=str(i) + "0" * 4993)], 0, 1, "POST_ID_MAX_CHARS"),
    Hostile("a year-10000 reply, then its root", _year_10000_reply_then_root, 1, 1, "outside the years"),
    Hostile(
        "lone surrogates in the text and a nested user field",
        lambda i: [_v1(i, text="half \ud800 a character", user={"id_str": "u", "name": "\udc00x"})],
        1,
        0,
        "",
    ),
]
