"""The stream's logic as plain functions: what to emit for a post, a link event, a
conversation event. The faust topology (`pipeline/topology.py`) only wires these to topics
and tables, so they are tested without a broker.

Root resolution across partitions (no global lookup):
- a root post R emits resolved(R -> R) keyed by R;
- a reply C to X emits child(C of X) keyed by X;
- on child(C of X): if root_of[X] = R is known, C is released: resolved(C -> R) keyed by C
  and C to its conversation keyed by R; otherwise C is parked in waiting[X];
- on resolved(X -> R): root_of[X] = R and every child parked under X is released.
Each release is itself a resolved event, so chains of any depth resolve hop by hop, in any
arrival order. Every step is idempotent by post id: redelivery changes nothing.

State values are JSON-able dicts because they live in faust tables (changelog topics).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from threadtag.models.corpus import assemble_threads
from threadtag.models.text import has_content
from threadtag.schemas.events import AnnotationRequest, ConversationEvent, DeadLetter, LinkEvent
from threadtag.schemas.posts import InvalidPost, Post, parse_post

LINKS, CONVERSATIONS, REQUESTS, DEAD_LETTERS = "links", "conversations", "requests", "dead_letters"


@dataclass(frozen=True)
class Emit:
    """A message to send: which stage topic, its key, its value."""

    topic: str
    key: str
    value: LinkEvent | ConversationEvent | AnnotationRequest | DeadLetter


@dataclass(frozen=True)
class ConversationPolicy:
    every_replies: int  # a growth request after this many new replies ...
    quiet_seconds: float  # ... once no reply came for this long (debounce)
    close_seconds: float  # a final request once the conversation was quiet this long
    orphan_ttl: float = math.inf  # replies whose root never came are dead-lettered after this
    retention_seconds: float = math.inf  # a closed conversation quiet this long is forgotten


@dataclass(frozen=True)
class RawMessage:
    """A message of the raw posts topic with where it came from."""

    payload: bytes
    key: bytes | None
    topic: str
    partition: int | None
    offset: int | None


def normalize(message: RawMessage, now: float, max_bytes: int, max_payload: int) -> list[Emit]:
    """Raw bytes -> the first hop of a post; broken input -> a dead letter; retweets and
    replies with no content -> nothing."""
    try:
        post = parse_post(message.payload, max_bytes)
    except InvalidPost as exc:
        received = datetime.fromtimestamp(now, tz=timezone.utc)
        letter = DeadLetter.of(
            str(exc),
            message.payload,
            message.topic,
            received,
            max_payload,
            message.partition,
            message.offset,
            message.key,
        )
        return [Emit(DEAD_LETTERS, message.key.decode("utf-8", "replace") if message.key else "", letter)]
    return route(post) if is_kept(post) else []


def is_kept(post: Post) -> bool:
    """Retweets and replies with no content take no part in conversations."""
    return not post.is_retweet and (post.parent_id is None or has_content(post.text))


def replies_per_root(posts: Iterable[Post]) -> dict[str, int]:
    """Root id -> replies the stream will assemble for it (what a complete run must show)."""
    return {root.id: len(replies) for root, replies in assemble_threads(p for p in posts if is_kept(p))}


def route(post: Post) -> list[Emit]:
    """First hop of a valid post: roots start their conversation, replies look for their root."""
    if post.parent_id is None:
        return [
            Emit(CONVERSATIONS, post.id, ConversationEvent(kind="post", root=post.id, post=post)),
            Emit(LINKS, post.id, LinkEvent(kind="resolved", node=post.id, root=post.id)),
        ]
    if post.root_id is not None and post.root_id != post.id:
        return _release(post, post.root_id)  # Twitter v2 names the conversation up front
    return [Emit(LINKS, post.parent_id, LinkEvent(kind="child", node=post.parent_id, post=post))]


def _release(child: Post, root: str) -> list[Emit]:
    return [
        Emit(CONVERSATIONS, root, ConversationEvent(kind="post", root=root, post=child)),
        Emit(LINKS, child.id, LinkEvent(kind="resolved", node=child.id, root=root)),
    ]


def on_link(
    event: LinkEvent,
    root_of: MutableMapping[str, str],
    waiting: MutableMapping[str, dict[str, Any]],
    now: float,
    orphan_ttl: float,
    links_topic: str,
    max_payload: int,
) -> list[Emit]:
    """Apply a link event to this partition's tables; return what to send."""
    node = event.node
    if event.kind == "child":
        assert event.post is not None
        root = root_of.get(node)
        if root is not None:
            return _release(event.post, root)
        entry = waiting.get(node) or {"children": {}, "expires_at": 0.0}
        children = dict(entry["children"])
        children[event.post.id] = event.post.model_dump(mode="json")
        # Reassign rather than mutate: a faust table records a change only on assignment.
        waiting[node] = {"children": children, "expires_at": now + orphan_ttl}
        return []
    if event.kind == "resolved":
        assert event.root is not None
        if root_of.get(node) != event.root:
            root_of[node] = event.root
        entry = waiting.pop(node, None)
        if not entry:
            return []
        children = sorted((Post.model_validate(c) for c in entry["children"].values()), key=lambda p: p.id)
        return [emit for child in children for emit in _release(child, event.root)]
    if event.kind == "forget":
        root_of.pop(node, None)
        return []
    entry = waiting.get(node)  # expire
    if not entry or entry["expires_at"] > now:
        return []
    del waiting[node]
    reason = f"orphan reply: parent {node} did not arrive within {orphan_ttl:g} s"
    children = sorted(entry["children"].items())
    return [_dead_letter(child, reason, links_topic, now, max_payload) for _, child in children]


def _dead_letter(post: dict[str, Any], reason: str, topic: str, now: float, max_payload: int) -> Emit:
    """A post the stream gives up on, keyed by its id."""
    payload = Post.model_validate(post).model_dump_json().encode()
    received = datetime.fromtimestamp(now, tz=timezone.utc)
    return Emit(DEAD_LETTERS, post["id"], DeadLetter.of(reason, payload, topic, received, max_payload))


def _without_raw(post: Post) -> dict[str, Any]:
    # A conversation is re-serialized on every change and every request carries all its
    # replies: without the raw JSON (each post keeps it once, on replies-by-root) a long
    # thread stays cheap.
    return post.model_dump(mode="json", exclude={"raw"})


def new_conversation() -> dict[str, Any]:
    return {
        "root": None,  # the root post, once it arrived
        "replies": {},  # id -> post
        "seq": 0,  # requests emitted so far
        "emitted_replies": 0,  # replies in the last request
        "last_change": 0.0,  # processing time of the last new post
        "growth_due": None,  # when a debounced growth request is due
        "closed": False,  # a final request went out and nothing came since
    }


def _request(state: dict[str, Any], reason: str, now: float) -> AnnotationRequest:
    replies = sorted((Post.model_validate(r) for r in state["replies"].values()), key=lambda p: (p.created_at, p.id))
    state["seq"] += 1
    state["emitted_replies"] = len(replies)
    state["growth_due"] = None
    return AnnotationRequest(
        root_id=state["root"]["id"],
        seq=state["seq"],
        reason=reason,  # type: ignore[arg-type]
        post=Post.model_validate(state["root"]),
        replies=replies,
        created_at=datetime.fromtimestamp(now, tz=timezone.utc),
    )


def on_conversation(
    event: ConversationEvent,
    state: dict[str, Any] | None,
    now: float,
    policy: ConversationPolicy,
    topic: str,
    max_payload: int,
) -> tuple[dict[str, Any] | None, list[Emit]]:
    """Apply a post or tick to a conversation; return the new state (None: forget it) and
    what to send: annotation requests, or when it ends, dead letters and forget events."""
    state = dict(state) if state else new_conversation()
    state["replies"] = dict(state["replies"])
    out: list[AnnotationRequest] = []
    if event.kind == "post":
        assert event.post is not None
        post = event.post
        if post.id == event.root:
            if state["root"] is not None:
                return state, []  # redelivered root
            state["root"] = _without_raw(post)
        elif post.id in state["replies"]:
            return state, []  # redelivered reply
        else:
            state["replies"][post.id] = _without_raw(post)
        state["last_change"] = now
        state["closed"] = False
        if state["root"] is None:
            return state, []  # replies wait for their root post
        if state["seq"] == 0:
            out.append(_request(state, "arrival", now))
        elif len(state["replies"]) - state["emitted_replies"] >= policy.every_replies:
            if policy.quiet_seconds == 0:
                out.append(_request(state, "growth", now))  # no debounce: no need to wait for a tick
            else:
                state["growth_due"] = now + policy.quiet_seconds  # each new reply pushes it back
        return state, _requests(out)
    # tick
    if _ended(state, now, policy):
        return None, _end(state, event.root, now, policy, topic, max_payload)
    if state["root"] is None:
        return state, []
    due = state["growth_due"]
    if due is not None and now >= due and len(state["replies"]) > state["emitted_replies"]:
        out.append(_request(state, "growth", now))
    if not state["closed"] and now >= state["last_change"] + policy.close_seconds:
        out.append(_request(state, "final", now))
        state["closed"] = True
    return state, _requests(out)


def _requests(requests: list[AnnotationRequest]) -> list[Emit]:
    return [Emit(REQUESTS, r.root_id, r) for r in requests]


def _ended(state: dict[str, Any], now: float, policy: ConversationPolicy) -> bool:
    """A rootless conversation past the orphan TTL, or a closed one past the retention time."""
    if state["root"] is None:
        return now >= state["last_change"] + policy.orphan_ttl
    return state["closed"] and now >= state["last_change"] + policy.retention_seconds


def _end(
    state: dict[str, Any], root: str, now: float, policy: ConversationPolicy, topic: str, max_payload: int
) -> list[Emit]:
    """Forget every link into the conversation; replies that never got their root become dead
    letters. A reply that arrives later waits as an orphan (and expires as one)."""
    members = ([root] if state["root"] else []) + sorted(state["replies"])
    forget = [Emit(LINKS, node, LinkEvent(kind="forget", node=node)) for node in members]
    if state["root"] is not None:
        return forget
    reason = f"orphan reply: root {root} did not arrive within {policy.orphan_ttl:g} s"
    dead = [_dead_letter(state["replies"][i], reason, topic, now, max_payload) for i in sorted(state["replies"])]
    return dead + forget


def conversation_due(state: dict[str, Any], now: float, policy: ConversationPolicy) -> bool:
    """Whether a tick would change something now (the timer sends ticks only then)."""
    if _ended(state, now, policy):
        return True
    if state["root"] is None:
        return False
    growth = state["growth_due"] is not None and now >= state["growth_due"]
    return growth or (not state["closed"] and now >= state["last_change"] + policy.close_seconds)


def orphans_due(entry: dict[str, Any], now: float) -> bool:
    return bool(entry) and entry["expires_at"] <= now
