"""When a conversation is worth (re-)annotating, as plain functions on its bookkeeping row.

The stream worker loads the rows of the conversations a batch touched (locked), applies
`on_joined`, and writes them back with the requests in the same transaction; the timer does
the same with `on_due` for rows whose `next_due_at` has passed. Times are epoch seconds.

Requests go out:
- arrival: QUIET_SECONDS after the root post came (not pushed back), with the replies that
  joined by then: in a backfill or replay the replies stored right behind their root join
  its first request, so an unchanged thread is decoded once, not at arrival and again when
  it closes; with QUIET_SECONDS 0, at once;
- growth: once EVERY_REPLIES more replies joined and none came for QUIET_SECONDS, while the
  last request named fewer replies than the model reads (`read_replies`: later ones cannot
  change its answer; a reply arriving late but written earlier is read by the final request);
- final: once the conversation was quiet for CLOSE_SECONDS; a later reply reopens it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from threadtag.schemas.events import AnnotationRequest, RequestReason

# A reply's (created_at in epoch seconds, id): replies joining together take positions in
# time order. Seconds, not a datetime: a time read back as a datetime depends on the
# session's time zone, where the first and last hours of the years 1-9999 do not fit.
Member = tuple[float, str]


@dataclass(frozen=True)
class ConversationPolicy:
    every_replies: int  # a growth request after this many new replies ...
    quiet_seconds: float  # ... once no reply came for this long (debounce)
    close_seconds: float  # a final request once the conversation was quiet this long
    orphan_ttl: float = math.inf  # replies whose root never came are dead-lettered after this
    read_replies: int = 0  # no growth request once the last request named this many replies (0: no bound)


def _grows(conv: Conversation, policy: ConversationPolicy) -> bool:
    """More replies joined than the last request named, and the model reads past that."""
    readable = not policy.read_replies or conv.emitted_replies < policy.read_replies
    return readable and conv.n_replies > conv.emitted_replies


@dataclass(frozen=True)
class Conversation:
    """One row of `conversations`."""

    root_id: str
    root_arrived: bool = False
    n_replies: int = 0
    emitted_replies: int = 0
    last_seq: int = 0
    last_reason: RequestReason | None = None
    sent_seq: int = 0
    requested_at: float | None = None
    last_change_at: float = 0.0
    growth_due_at: float | None = None
    closed_at: float | None = None

    def request(self) -> AnnotationRequest:
        """The last request made (what a resend sends again)."""
        assert self.last_reason is not None
        return AnnotationRequest(
            root_id=self.root_id, seq=self.last_seq, reason=self.last_reason, cutoff=self.emitted_replies
        )


def _request(conv: Conversation, reason: RequestReason, now: float) -> Conversation:
    return replace(
        conv,
        last_seq=conv.last_seq + 1,
        last_reason=reason,
        emitted_replies=conv.n_replies,
        requested_at=now,
        growth_due_at=None,
    )


def on_joined(
    conv: Conversation, root_arrived: bool, new_replies: int, now: float, policy: ConversationPolicy
) -> tuple[Conversation, list[AnnotationRequest]]:
    """The root and/or `new_replies` replies joined (their positions already counted in
    `conv.n_replies`); returns the new row and the requests to send."""
    conv = replace(conv, root_arrived=conv.root_arrived or root_arrived, last_change_at=now, closed_at=None)
    if not conv.root_arrived:
        return conv, []  # replies wait for their root post
    if conv.last_seq == 0:
        if policy.quiet_seconds == 0:
            conv = _request(conv, "arrival", now)
            return conv, [conv.request()]
        if conv.growth_due_at is None:  # replies do not push the first request back
            conv = replace(conv, growth_due_at=now + policy.quiet_seconds)
        return conv, []
    if conv.n_replies - conv.emitted_replies >= policy.every_replies and _grows(conv, policy):
        if policy.quiet_seconds == 0:
            conv = _request(conv, "growth", now)
            return conv, [conv.request()]
        conv = replace(conv, growth_due_at=now + policy.quiet_seconds)  # each new reply pushes it back
    return conv, []


def on_due(conv: Conversation, now: float, policy: ConversationPolicy) -> tuple[Conversation, list[AnnotationRequest]]:
    """The timer's look at a conversation: the arrival or a debounced growth request, the final one."""
    out = []
    if conv.root_arrived:
        due = conv.growth_due_at
        if due is not None and now >= due and (conv.last_seq == 0 or _grows(conv, policy)):
            conv = _request(conv, "arrival" if conv.last_seq == 0 else "growth", now)
            out.append(conv.request())
        if conv.closed_at is None and now >= conv.last_change_at + policy.close_seconds:
            conv = replace(_request(conv, "final", now), closed_at=now)
            out.append(conv.request())
    return conv, out


def orphaned(conv: Conversation, now: float, policy: ConversationPolicy) -> bool:
    """Replies named this root (Twitter v2) but it never came within the orphan TTL."""
    return not conv.root_arrived and now >= conv.last_change_at + policy.orphan_ttl


def next_due(conv: Conversation, policy: ConversationPolicy) -> float | None:
    """When the timer should look at it next; None: only a new post changes it."""
    if not conv.root_arrived:
        return conv.last_change_at + policy.orphan_ttl if math.isfinite(policy.orphan_ttl) else None
    times = [conv.growth_due_at] if conv.growth_due_at is not None else []
    if conv.closed_at is None:
        times.append(conv.last_change_at + policy.close_seconds)
    return min(times) if times else None
