"""The normalized post: one shape for every platform, built by strict adapters.

An adapter either returns a `Post` or raises `InvalidPost` with the reason; it never
guesses a missing id or time. `parse_post` takes raw message bytes, recognises the
format (Twitter v1.1, Twitter v2, Weibo-style plain JSON) and adapts it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field


class InvalidPost(ValueError):
    """Raw input that cannot become a `Post`; the message is the reason."""


class Post(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    parent_id: str | None = None
    root_id: str | None = Field(None, description="Known up front only where the platform says (Twitter v2).")
    author_id: str | None = None
    created_at: datetime
    text: str
    lang: str | None = None
    platform: str
    is_retweet: bool = False
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


def twitter_time(value: str) -> datetime:
    """`Mon Mar 02 09:45:10 +0000 2015` -> an aware datetime. The usual UTC shape is split
    by hand (strptime was a fifth of parsing a tweet); anything else goes to strptime."""
    parts = value.split(" ")
    if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS and len(parts[3]) == 8:
        try:
            hour, minute, second = (int(x) for x in parts[3].split(":"))
            return datetime(int(parts[5]), _MONTHS[parts[1]], int(parts[2]), hour, minute, second, tzinfo=timezone.utc)
        except ValueError:
            pass  # strptime below says what is wrong
    return datetime.strptime(value, _TWITTER_TIME)


def _require_str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPost(f"field {key!r} must be a non-empty string, got {type(value).__name__}")
    return value


def reads_as_retweet(text: str) -> bool:
    """The old manual retweet convention, for posts whose JSON does not say."""
    return text.startswith("RT @")


def from_twitter_v1(raw: dict[str, Any]) -> Post:
    """Twitter API v1.1 tweet object -> Post."""
    post_id = _require_str(raw, "id_str")
    try:
        created_at = twitter_time(_require_str(raw, "created_at"))
    except ValueError as exc:
        raise InvalidPost(f"created_at is not a Twitter timestamp: {raw.get('created_at')!r}") from exc
    extended = raw.get("extended_tweet")
    text = (extended or {}).get("full_text") if isinstance(extended, dict) else None
    text = text or raw.get("full_text") or raw.get("text")
    if not isinstance(text, str):
        raise InvalidPost("tweet has no text, full_text or extended_tweet.full_text string")
    parent = raw.get("in_reply_to_status_id_str")
    if parent is not None and not isinstance(parent, str):
        raise InvalidPost("in_reply_to_status_id_str must be a string or null")
    user = raw.get("user") if isinstance(raw.get("user"), dict) else {}
    return Post(
        id=post_id,
        parent_id=parent or None,
        author_id=user.get("id_str"),
        created_at=created_at,
        text=text,
        lang=raw.get("lang") if isinstance(raw.get("lang"), str) else None,
        platform="twitter",
        is_retweet=raw.get("retweeted_status") is not None or reads_as_retweet(text),
        raw=raw,
    )


def _parse_iso(value: Any, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidPost(f"{field} must be an ISO 8601 string or epoch seconds, got {type(value).__name__}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidPost(f"{field} is not an ISO 8601 time: {value!r}") from exc
    # A time without zone is taken as UTC: feeds we know of write UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def from_twitter_v2(raw: dict[str, Any]) -> Post:
    """Twitter API v2 tweet (bare, or wrapped as {"data": {...}}) -> Post."""
    tweet = raw["data"] if isinstance(raw.get("data"), dict) else raw
    post_id = _require_str(tweet, "id")
    text = tweet.get("text")
    if not isinstance(text, str):
        raise InvalidPost("field 'text' must be a string")
    refs = tweet.get("referenced_tweets") or []
    if not isinstance(refs, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in refs):
        raise InvalidPost("referenced_tweets must be a list of {type, id} objects with string ids")
    parents = [r["id"] for r in refs if r.get("type") == "replied_to"]
    conversation = tweet.get("conversation_id")
    if conversation is not None and not isinstance(conversation, str):
        raise InvalidPost("conversation_id must be a string")
    parent = parents[0] if parents else None
    return Post(
        id=post_id,
        parent_id=parent,
        root_id=conversation if parent is not None else post_id,
        author_id=tweet.get("author_id") if isinstance(tweet.get("author_id"), str) else None,
        created_at=_parse_iso(tweet.get("created_at"), "created_at"),
        text=text,
        lang=tweet.get("lang") if isinstance(tweet.get("lang"), str) else None,
        platform="twitter",
        is_retweet=any(r.get("type") == "retweeted" for r in refs),
        raw=raw,
    )


def _id_value(raw: dict[str, Any], key: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidPost(f"field {key!r} must be a non-empty string or integer, got {type(value).__name__}")
    return str(value)


def from_weibo_json(raw: dict[str, Any]) -> Post:
    """Weibo-style plain JSON {id, reply_to, created_at, text[, user_id, lang]} -> Post."""
    post_id = _id_value(raw, "id", required=True)
    assert post_id is not None
    text = raw.get("text")
    if not isinstance(text, str):
        raise InvalidPost("field 'text' must be a string")
    return Post(
        id=post_id,
        parent_id=_id_value(raw, "reply_to", required=False),
        author_id=_id_value(raw, "user_id", required=False),
        created_at=_parse_iso(raw.get("created_at"), "created_at"),
        text=text,
        lang=raw.get("lang") if isinstance(raw.get("lang"), str) else "zh",
        platform="weibo",
        is_retweet=bool(raw.get("is_repost", False)),
        raw=raw,
    )


_V2_KEYS = ("conversation_id", "referenced_tweets", "edit_history_tweet_ids", "author_id")


_DECODE = msgspec.json.Decoder().decode


def _loads(text: str) -> Any:
    """The JSON value, as `json.loads` makes it: msgspec decodes a tweet in half the time (the
    largest part of normalizing one) and refuses only what json takes
    (NaN, 1e400, a lone surrogate) or no parser takes; json then decides, and says why not."""
    try:
        return _DECODE(text)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(text)


def parse_post(payload: bytes | None, max_bytes: int, max_id_chars: int | None = None) -> Post:
    """Raw message bytes -> Post, or InvalidPost saying why not (ids longer than
    `max_id_chars` too: no platform writes them, and an index cannot hold every length)."""
    if payload is None:
        raise InvalidPost("record without a value (a tombstone or a null record)")
    if not payload:
        raise InvalidPost("empty message")
    if len(payload) > max_bytes:
        raise InvalidPost(f"message of {len(payload)} bytes exceeds the limit of {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPost(f"not valid UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        raw = _loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPost(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(raw, dict):
        raise InvalidPost(f"expected a JSON object, got {type(raw).__name__}")
    if needs_cleaning(text):
        raw = storable(raw)
    post = adapt(raw)
    for name, value in (("id", post.id), ("parent id", post.parent_id), ("root id", post.root_id)):
        if max_id_chars is not None and value is not None and len(value) > max_id_chars:
            raise InvalidPost(f"{name} of {len(value)} characters exceeds POST_ID_MAX_CHARS ({max_id_chars})")
    try:
        post.created_at.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidPost(f"created_at {post.created_at.isoformat()} is outside the years 1-9999 in UTC") from None
    return post


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# In the JSON text: a high-surrogate escape without a low one after it, or a low one alone.
# Written to start with the literal `\u` so the search skips ahead (it runs on every post: the
# two-branch form with a leading lookbehind cost 24 us a tweet, this one under 1 us).
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD])[c-fC-F][0-9a-fA-F]{2})"
)


def needs_cleaning(json_text: str) -> bool:
    """The JSON text escapes what PostgreSQL cannot hold (NUL, a lone surrogate): the post
    must be stored from its cleaned fields, not its text."""
    return "\\u0000" in json_text or _LONE_SURROGATE_ESCAPE.search(json_text) is not None


def storable(value: Any) -> Any:
    """`value` with NUL characters removed and lone surrogates (an escape JSON allows, half of
    a character) replaced by U+FFFD in every string: PostgreSQL's text and jsonb cannot hold
    either, and a post is worth more stored without them than set aside."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def adapt(raw: dict[str, Any]) -> Post:
    """A decoded JSON object -> Post, by recognising its format."""
    if "id_str" in raw:
        post = from_twitter_v1(raw)
    elif isinstance(raw.get("data"), dict) or ("id" in raw and any(k in raw for k in _V2_KEYS)):
        post = from_twitter_v2(raw)
    elif "id" in raw and "reply_to" in raw:
        post = from_weibo_json(raw)
    else:
        raise InvalidPost(
            "unknown format: not Twitter v1.1 (id_str), v2 (data / conversation_id) or Weibo-style (id + reply_to)"
        )
    if post.parent_id == post.id:
        raise InvalidPost(f"post {post.id} replies to itself")
    return post
