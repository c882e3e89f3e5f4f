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


def _at_the_edge_of_the_years(created_at: str) -> Callable[[int], list[bytes | None]]:
    """A reply at the first or last second of the years 1-9999 UTC, stored before its root:
    in a session off UTC, read back, that second is in year 0 or 10000."""

    def build(i: int) -> list[bytes | None]:
        reply = {**json.loads(tweet(i + 1, i, 0)), "created_at": created_at}
        return [json.dumps(reply).encode(), tweet(i, None, 0)]

    return build


def _reply_to_a_retweet(i: int) -> list[bytes | None]:
    retweet = {**json.loads(tweet(i, None, 0)), "retweeted_status": {"id_str": "1"}}
    return [json.dumps(retweet).encode(), tweet(i + 1, i, 0)]


def _many_hashtags(i: int) -> list[bytes | None]:
    return [_v1(i, text="rivers in spring " + " ".join(f"#tag{n}" for n in range(10_000)))]


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
    ),
    Hostile("JSON nested 100,000 deep", lambda i: [b"[" * 100_000 + b"]" * 100_000], 0, 1, "RecursionError"),
    Hostile("a 5 MB message", lambda i: [_v1(i, text="x" * 5_000_000)], 0, 1, "exceeds the limit"),
    Hostile("invalid JSON", lambda i: [b'{"id_str": "' + str(i).encode() + b'", '], 0, 1, "not JSON"),
    Hostile("invalid UTF-8", lambda i: [b"\xff\xfe" + tweet(i, None, 0)], 0, 1, "not valid UTF-8"),
    Hostile("wrong types", lambda i: [_v1(i, id_str=[i])], 0, 1, "must be a non-empty string"),
    Hostile(
        "a lang the database cannot hold, and a reply", lambda i: [_v1(i, lang="x" * 100), tweet(i + 1, i, 1)], 2, 0, ""
    ),
    Hostile("a year-1 reply, then its root", _at_the_edge_of_the_years("Mon Jan 01 00:00:00 +0000 0001"), 2, 0, ""),
    Hostile("a year-9999 reply, then its root", _at_the_edge_of_the_years("Fri Dec 31 23:59:59 +0000 9999"), 2, 0, ""),
    Hostile("a reply to a retweet", _reply_to_a_retweet, 0, 1, "was dropped (retweet)"),
    Hostile("10,000 hashtags", _many_hashtags, 1, 0, ""),
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
