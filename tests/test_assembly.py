"""The stream logic without a broker: any arrival order, duplicates, deep chains."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from threadtag.pipeline.assembly import (
    CONVERSATIONS,
    DEAD_LETTERS,
    LINKS,
    REQUESTS,
    ConversationPolicy,
    Emit,
    RawMessage,
    conversation_due,
    normalize,
    on_conversation,
    on_link,
)
from threadtag.schemas.events import ConversationEvent, LinkEvent

from tests.streaming import T0, tweet

POLICY = ConversationPolicy(every_replies=2, quiet_seconds=1.0, close_seconds=10.0)


def raw(payload: bytes) -> RawMessage:
    return RawMessage(payload=payload, key=None, topic="tweets", partition=0, offset=7)


class Simulator:
    """Delivers stage messages in random order (with duplicates), like partitions and retries would."""

    def __init__(self, seed: int, duplicate_rate: float = 0.2, policy: ConversationPolicy = POLICY) -> None:
        self.rng = random.Random(seed)
        self.policy = policy
        self.duplicate_rate = duplicate_rate
        self.queue: list[Emit] = []
        self.root_of: dict = {}
        self.waiting: dict = {}
        self.conversations: dict = {}
        self.requests: list = []
        self.dead: list = []
        self.now = 0.0

    def push(self, emits: list[Emit]) -> None:
        for emit in emits:
            self.queue.append(emit)
            if self.rng.random() < self.duplicate_rate:
                self.queue.append(emit)

    def deliver(self, emit: Emit) -> None:
        if emit.topic == LINKS:
            self.push(on_link(emit.value, self.root_of, self.waiting, self.now, 100.0, "links", 1000))
        elif emit.topic == CONVERSATIONS:
            state, out = on_conversation(
                emit.value, self.conversations.get(emit.key), self.now, self.policy, "by-root", 1000
            )
            if state is None:
                self.conversations.pop(emit.key, None)
            else:
                self.conversations[emit.key] = state
            self.push(out)
        elif emit.topic == REQUESTS:
            self.requests.append(emit.value)
        elif emit.topic == DEAD_LETTERS:
            self.dead.append(emit.value)
        else:
            raise AssertionError(emit.topic)

    def run(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.push(normalize(raw(payload), self.now, 10_000, 1000))
        while self.queue:
            self.deliver(self.queue.pop(self.rng.randrange(len(self.queue))))
            self.now += 0.01

    def close_all(self) -> None:
        self.now += 1000
        self.tick()

    def tick(self) -> None:
        for root in list(self.conversations):
            self.deliver(Emit(CONVERSATIONS, root, ConversationEvent(kind="tick", root=root)))
        while self.queue:
            self.deliver(self.queue.pop(0))


def final_replies(sim: Simulator) -> dict[str, list[str]]:
    finals = {}
    for request in sim.requests:
        if request.reason == "final":
            finals[request.root_id] = [p.id for p in request.replies]
    return finals


# Two threads: 1 <- 2 <- 3 <- 4 (depth 3) and 1 <- 5; 10 <- 11, 10 <- 12 (same minute: id order)
THREADS = [tweet(1, None, 0), tweet(2, 1, 1), tweet(3, 2, 2), tweet(4, 3, 3), tweet(5, 1, 4),
           tweet(10, None, 0), tweet(12, 10, 5), tweet(11, 10, 5)]  # fmt: skip
EXPECTED = {"1": ["2", "3", "4", "5"], "10": ["11", "12"]}


@pytest.mark.parametrize("seed", range(25))
def test_any_order_with_duplicates_assembles_exact_conversations(seed):
    sim = Simulator(seed)
    payloads = THREADS * 2  # every raw message delivered twice, too
    random.Random(seed).shuffle(payloads)
    sim.run(payloads)
    sim.close_all()
    assert final_replies(sim) == EXPECTED
    assert not sim.waiting and not sim.dead


def test_children_before_parents_wait_then_resolve_hop_by_hop():
    sim = Simulator(seed=0, duplicate_rate=0)
    for payload in (tweet(4, 3, 3), tweet(3, 2, 2), tweet(2, 1, 1)):
        sim.push(normalize(raw(payload), 0, 10_000, 1000))
    while sim.queue:
        sim.deliver(sim.queue.pop(0))
    assert set(sim.waiting) == {"1", "2", "3"} and not sim.conversations
    sim.run([tweet(1, None, 0)])
    assert sim.root_of == {"1": "1", "2": "1", "3": "1", "4": "1"} and not sim.waiting
    arrival = sim.requests[0]
    assert arrival.reason == "arrival" and arrival.seq == 1


def converse(event: ConversationEvent, state, now: float, policy: ConversationPolicy = POLICY):
    """on_conversation, with the annotation requests it sends."""
    state, emits = on_conversation(event, state, now, policy, "by-root", 1000)
    assert all(e.topic == REQUESTS for e in emits)
    return state, [e.value for e in emits]


def test_requests_on_arrival_growth_and_close():
    state, out = converse(_post_event("r", "r", 0), None, now=0.0)
    assert [r.reason for r in out] == ["arrival"] and out[0].replies == []
    state, out = converse(_post_event("r", "a", 1), state, now=1.0)
    assert out == []  # one new reply: below every_replies
    state, out = converse(_post_event("r", "b", 2), state, now=1.5)
    assert out == [] and state["growth_due"] == pytest.approx(2.5)
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, now=2.0)
    assert out == []  # still inside the quiet period
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, now=2.6)
    assert [(r.reason, r.seq, [p.id for p in r.replies]) for r in out] == [("growth", 2, ["a", "b"])]
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, now=11.6)
    assert [(r.reason, r.seq) for r in out] == [("final", 3)]
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, now=50.0)
    assert out == []  # final only once while nothing new arrives


def test_requests_leave_the_raw_json_behind():
    sim = Simulator(seed=0, duplicate_rate=0)
    sim.run([tweet(1, None, 0), tweet(2, 1, 1)])
    sim.close_all()
    final = [r for r in sim.requests if r.reason == "final"][0]
    assert final.post.raw == {} and final.replies[0].raw == {} and final.replies[0].text == "some words here"


def test_without_a_quiet_period_growth_goes_out_with_the_reply():
    eager = ConversationPolicy(every_replies=1, quiet_seconds=0.0, close_seconds=10.0)
    state, _ = converse(_post_event("r", "r", 0), None, now=0.0, policy=eager)
    state, out = converse(_post_event("r", "a", 1), state, now=0.5, policy=eager)
    assert [(r.reason, [p.id for p in r.replies]) for r in out] == [("growth", ["a"])]


def _post_event(root: str, pid: str, minute: int) -> ConversationEvent:
    from threadtag.schemas.posts import Post

    post = Post(id=pid, parent_id=None if pid == root else root, created_at=T0 + timedelta(minutes=minute),
                text="x", platform="test")  # fmt: skip
    return ConversationEvent(kind="post", root=root, post=post)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'{"id_str": 5, "created_at": "x", "text": "t"}', "'id_str' must be a non-empty string"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8"),
        (b'{"id_str": "1", "created_at": "yesterday", "text": "t"}', "not a Twitter timestamp"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"hello": "world"}', "unknown format"),
        (b'{"id_str": "1", "text": "' + b"x" * 20_000 + b'"}', "exceeds the limit"),
    ],
)
def test_broken_input_becomes_a_dead_letter_with_reason_and_bytes(payload, reason):
    [emit] = normalize(RawMessage(payload, b"k", "tweets", 2, 41), 0.0, 10_000, 1000)
    assert emit.topic == DEAD_LETTERS and reason in emit.value.reason
    assert emit.value.partition == 2 and emit.value.offset == 41 and emit.value.payload_bytes == len(payload)
    assert emit.value.payload() == payload[:1000] and emit.value.truncated == (len(payload) > 1000)


def test_retweets_and_empty_replies_are_dropped_not_dead_lettered():
    retweet = json.loads(tweet(9, None, 0))
    retweet["retweeted_status"] = {"id_str": "1"}
    assert normalize(raw(json.dumps(retweet).encode()), 0, 10_000, 1000) == []
    assert normalize(raw(tweet(9, 1, 0, text="@alice http://t.co/x")), 0, 10_000, 1000) == []
    assert normalize(raw(tweet(9, None, 0, text="@alice")), 0, 10_000, 1000) != []  # a root always counts


def test_twitter_v2_replies_go_straight_to_their_conversation():
    v2 = {"data": {"id": "7", "text": "deep reply", "conversation_id": "1", "created_at": "2026-05-01T12:00:00Z",
                   "referenced_tweets": [{"type": "replied_to", "id": "6"}]}}  # fmt: skip
    emits = normalize(raw(json.dumps(v2).encode()), 0, 10_000, 1000)
    assert [(e.topic, e.key) for e in emits] == [(CONVERSATIONS, "1"), (LINKS, "7")]


def test_orphans_expire_into_dead_letters():
    sim = Simulator(seed=0, duplicate_rate=0)
    sim.run([tweet(5, 4, 1)])
    assert "4" in sim.waiting
    sim.now = 1000.0
    sim.deliver(Emit(LINKS, "4", LinkEvent(kind="expire", node="4")))
    while sim.queue:
        sim.deliver(sim.queue.pop(0))
    assert not sim.waiting and len(sim.dead) == 1 and "parent 4" in sim.dead[0].reason


def test_a_closed_conversation_is_forgotten_after_the_retention_time():
    policy = ConversationPolicy(every_replies=2, quiet_seconds=1.0, close_seconds=10.0, retention_seconds=100.0)
    sim = Simulator(seed=0, policy=policy)
    sim.run(THREADS)
    sim.now += 50
    sim.tick()  # quiet past close_seconds: the final requests go, the state stays
    assert final_replies(sim) == EXPECTED and set(sim.conversations) == {"1", "10"}
    assert not any(conversation_due(state, sim.now, policy) for state in sim.conversations.values())
    sim.now += 100
    assert all(conversation_due(state, sim.now, policy) for state in sim.conversations.values())
    sim.tick()
    assert sim.conversations == {} and sim.root_of == {} and not sim.dead
    # A reply to a forgotten thread is an orphan: it waits, then becomes a dead letter.
    requests_before = len(sim.requests)
    sim.run([tweet(6, 5, 9)])
    assert set(sim.waiting) == {"5"} and len(sim.requests) == requests_before


def test_a_conversation_with_new_replies_is_not_forgotten():
    policy = ConversationPolicy(every_replies=2, quiet_seconds=1.0, close_seconds=10.0, retention_seconds=100.0)
    state, _ = converse(_post_event("r", "r", 0), None, 0.0, policy)
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, 500.0, policy)
    assert [r.reason for r in out] == ["final"]  # quiet for long, but never closed: final first
    state, _ = converse(_post_event("r", "a", 1), state, 501.0, policy)  # reopens it
    state, out = converse(ConversationEvent(kind="tick", root="r"), state, 1000.0, policy)
    assert state is not None and [r.reason for r in out] == ["final"]


def test_replies_whose_root_never_comes_are_dead_lettered_after_the_orphan_ttl():
    policy = ConversationPolicy(every_replies=2, quiet_seconds=1.0, close_seconds=10.0, orphan_ttl=60.0)
    sim = Simulator(seed=0, duplicate_rate=0, policy=policy)
    v2 = {"data": {"id": "7", "text": "deep reply", "conversation_id": "1", "created_at": "2026-05-01T12:00:00Z",
                   "referenced_tweets": [{"type": "replied_to", "id": "6"}]}}  # fmt: skip
    sim.run([json.dumps(v2).encode()])
    assert sim.conversations["1"]["root"] is None and sim.root_of == {"7": "1"}
    sim.now += 30
    sim.tick()
    assert "1" in sim.conversations and not sim.dead
    sim.now += 31
    sim.tick()
    assert sim.conversations == {} and sim.root_of == {} and not sim.requests
    [letter] = sim.dead
    assert "root 1 did not arrive" in letter.reason and b'"id":"7"' in letter.payload()
