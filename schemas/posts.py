"""The normalized post: one shape for every platform, built by strict adapters.

An adapter either returns a `Post` or raises `InvalidPost` with the reason; it never
guesses a missing id or time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def _require_str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPost(f"field {key!r} must be a non-empty string, got {type(value).__name__}")
    return value


def from_twitter_v1(raw: dict[str, Any]) -> Post:
    """Twitter API v1.1 tweet object -> Post."""
    post_id = _require_str(raw, "id_str")
    try:
        created_at = datetime.strptime(_require_str(raw, "created_at"), _TWITTER_TIME)
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
        is_retweet=raw.get("retweeted_status") is not None or text.startswith("RT @"),
        raw=raw,
    )
