"""The stream's request policy as plain functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from threadtag.core.settings import Settings
from threadtag.models.corpus import conversation_tokens_read
from threadtag.pipeline.conversations import Conversation, ConversationPolicy, next_due, on_due, on_joined, orphaned
from threadtag.pipeline.stream_worker import policy_of
from threadtag.schemas.posts import Post

POLICY = ConversationPolicy(every_replies=3, quiet_seconds=2.0, close_seconds=10.0, orphan_ttl=60.0)
T = datetime(2026, 5, 1, tzinfo=timezone.utc)


def post(pid: str, parent: str | None = None, root: str | None = None) -> Post:
    return Post(id=pid, parent_id=parent, root_id=root, created_at=T, text="x", platform="twitter")


def _joined(conv: Conversation, root: bool, replies: int, now: float) -> tuple[Conversation, list]:
    """`replies` more replies joined (the database counts them before the policy runs)."""
    counted = replace(conv, n_replies=conv.n_replies + replies)
    return on_joined(counted, root, replies, now, POLICY)


def test_replies_wait_for_the_root_then_arrival_carries_them():
    conv, out = _joined(Conversation("r"), False, 2, now=0.0)
    assert out == [] and next_due(conv, POLICY) == 60.0  # the orphan check
    assert orphaned(conv, 60.0, POLICY) and not orphaned(conv, 59.0, POLICY)
    conv, out = _joined(conv, True, 0, now=5.0)
    assert out == [] and next_due(conv, POLICY) == 7.0  # the arrival request, QUIET_SECONDS after the root
    conv, out = _joined(conv, False, 1, now=6.5)  # a reply right behind its root joins the first request ...
    assert out == [] and next_due(conv, POLICY) == 7.0  # ... and does not push it back
    conv, out = on_due(conv, 7.0, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(1, "arrival", 3)]
    assert next_due(conv, POLICY) == 16.5  # the final request


def test_without_debounce_the_arrival_request_goes_at_once():
    policy = replace(POLICY, quiet_seconds=0)
    conv, out = on_joined(Conversation("r", n_replies=2), True, 0, 5.0, policy)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(1, "arrival", 2)]


def test_growth_is_debounced_and_the_final_request_closes_until_a_reply_reopens():
    conv, _ = _joined(Conversation("r"), True, 0, now=-2.0)
    conv, out = on_due(conv, 0.0, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(1, "arrival", 0)]
    conv, out = _joined(conv, False, 3, now=1.0)
    assert out == [] and conv.growth_due_at == 3.0
    conv, out = _joined(conv, False, 1, now=2.5)  # a reply pushes the growth request back
    assert out == [] and conv.growth_due_at == 4.5
    conv, out = on_due(conv, 4.0, POLICY)
    assert out == []
    conv, out = on_due(conv, 4.5, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(2, "growth", 4)]
    conv, out = on_due(conv, 12.5, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(3, "final", 4)]
    assert next_due(conv, POLICY) is None
    conv, out = _joined(conv, False, 1, now=100.0)  # a late reply reopens it
    assert out == [] and next_due(conv, POLICY) == 110.0
    conv, out = on_due(conv, 110.0, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in out] == [(4, "final", 5)]


def test_no_debounce_sends_growth_at_once():
    policy = ConversationPolicy(every_replies=2, quiet_seconds=0, close_seconds=10.0)
    conv, _ = on_joined(Conversation("r", n_replies=0), True, 0, 0.0, policy)
    conv, out = on_joined(replace(conv, n_replies=2), False, 2, 1.0, policy)
    assert [(r.reason, r.cutoff) for r in out] == [("growth", 2)]


def test_a_request_carries_no_text_so_its_size_does_not_grow_with_the_thread():
    small = Conversation("1234567890", root_arrived=True, n_replies=1)
    big = Conversation("1234567890", root_arrived=True, n_replies=1000)
    sizes = [len(on_joined(c, True, 0, 0.0, replace(POLICY, quiet_seconds=0))[1][0].to_bytes()) for c in (small, big)]
    assert sizes[1] - sizes[0] == 3  # "1" -> "1000"


def test_no_growth_request_once_the_last_named_as_many_replies_as_the_model_reads():
    """A 5,000-reply thread: growth requests stop once one named READ replies (later ones
    cannot change the answer); the final request still reads what came."""
    policy = replace(POLICY, quiet_seconds=0, read_replies=10)
    conv, out = on_joined(Conversation("r"), True, 0, 0.0, policy)
    requests = list(out)
    for i in range(1, 5_001):
        conv, out = on_joined(replace(conv, n_replies=i), False, 1, float(i), policy)
        requests += out
    assert [(r.reason, r.cutoff) for r in requests] == [
        ("arrival", 0),
        ("growth", 3),
        ("growth", 6),
        ("growth", 9),
        ("growth", 12),
    ]
    conv, out = on_due(conv, 5_000.0 + policy.close_seconds, policy)
    assert [(r.reason, r.cutoff) for r in out] == [("final", 5_000)]
    assert next_due(conv, policy) is None


def test_the_stream_reads_as_many_replies_as_the_model_reads_tokens():
    """One rule for the stream's policy and the serving path: the larger of the generator's
    and the hybrid's cut, 0 (every reply) when the hybrid reads all."""
    assert conversation_tokens_read(100, 1_000) == 1_000
    assert conversation_tokens_read(100, 50) == 100
    assert conversation_tokens_read(100, 0) == 0
    assert policy_of(Settings(conv_max_len=100, hybrid_conv_tokens=1_000)).read_replies == 1_000
    assert policy_of(Settings(conv_max_len=100, hybrid_conv_tokens=0)).read_replies == 0
    assert policy_of(Settings(hybrid=False, conv_max_len=100)).read_replies == 100
