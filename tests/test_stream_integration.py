"""The stream against the real embedded broker (Tansu) with real worker processes."""

from __future__ import annotations

import json
import random
import time

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.streaming import (
    final_conversations,
    fully_committed,
    produce,
    read_all,
    stream_env,
    stream_worker,
    tweet,
    wait_for,
)
from tests.helpers.tcp_proxy import TcpProxy
from threadtag.app.schema import migrate
from threadtag.schemas.events import DeadLetter

pytestmark = pytest.mark.slow


def v2(pid: int, parent: int | None, conversation: int, minute: int) -> bytes:
    data = {
        "id": str(pid),
        "text": f"v2 words {pid}",
        "conversation_id": str(conversation),
        "created_at": f"2026-05-01T13:{minute:02d}:00Z",
    }
    if parent is not None:
        data["referenced_tweets"] = [{"type": "replied_to", "id": str(parent)}]
    return json.dumps({"data": data}).encode()


def weibo(pid: int, parent: int | None, minute: int) -> bytes:
    return json.dumps(
        {
            "id": pid,
            "reply_to": parent,
            "created_at": f"2026-05-01T14:{minute:02d}:00+00:00",
            "text": f"微博 回复 {pid}",
        },
        ensure_ascii=False,
    ).encode()


GOOD = [
    # thread 100: a chain four deep plus branches
    tweet(100, None, 0),
    tweet(101, 100, 1),
    tweet(102, 101, 2),
    tweet(103, 102, 3),
    tweet(104, 103, 4),
    tweet(105, 100, 5),
    tweet(106, 102, 6),
    # thread 200: equal times order by id; a reply to a reply
    tweet(200, None, 0),
    tweet(202, 200, 3),
    tweet(201, 200, 3),
    tweet(203, 201, 4),
    tweet(204, 200, 5, text="@someone http://t.co/x"),  # empty reply: dropped
    # Twitter v2 and Weibo-style JSON
    v2(300, None, 300, 0),
    v2(301, 300, 300, 1),
    v2(302, 301, 300, 2),
    weibo(400, None, 0),
    weibo(401, 400, 1),
    weibo(402, 401, 2),
]
RETWEET = json.dumps({**json.loads(tweet(500, None, 1)), "retweeted_status": {"id_str": "1"}}).encode()
BAD = {
    b"{not json": "not JSON",
    b"\xff\xfeinvalid utf-8": "not valid UTF-8",
    b'{"id_str": 5, "created_at": "Fri May 01 12:00:00 +0000 2026", "text": "x"}': "must be a non-empty string",
    b'{"id_str": "9", "text": "' + b"x" * 300_000 + b'"}': "exceeds the limit",
}
EXPECTED = {
    "100": ["101", "102", "103", "104", "105", "106"],
    "200": ["201", "202", "203"],
    "300": ["301", "302"],
    "400": ["401", "402"],
}


def messages(seed: int) -> list[tuple[int, bytes | None, bytes]]:
    """Children before parents (reversed), every third message twice, spread over 3 partitions."""
    rng = random.Random(seed)
    ordered = list(reversed(GOOD)) + [RETWEET] + list(BAD)
    out = []
    for i, value in enumerate(ordered):
        for _ in range(2 if i % 3 == 0 else 1):
            out.append((rng.randrange(3), None, value))
    return out


def _finals_match(bootstrap: str, env: dict[str, str]) -> bool:
    return final_conversations(bootstrap, env["REQUESTS_TOPIC"], env["DATABASE_URL"]) == EXPECTED


def test_one_worker_assembles_exact_conversations_and_dead_letters_bad_input(broker, database_url, tmp_path):
    env = stream_env(broker, tmp_path, database_url)
    worker = stream_worker(env, tmp_path / "worker.log").start()
    try:
        produce(broker, env["TWEETS_TOPIC"], messages(seed=1))
        wait_for(lambda: _finals_match(broker, env), 120, "exact final conversations", worker.log)
        wait_for(lambda: len(read_all(broker, env["DEAD_LETTER_TOPIC"])) >= 4, 30, "dead letters", worker.log)
    finally:
        worker.stop()
    letters = [DeadLetter.model_validate_json(v) for v in read_all(broker, env["DEAD_LETTER_TOPIC"])]
    for payload, reason in BAD.items():
        matching = [d for d in letters if d.payload_bytes == len(payload)]
        assert matching and reason in matching[0].reason
        assert matching[0].source_topic == env["TWEETS_TOPIC"] and matching[0].offset is not None
    small = next(d for d in letters if d.reason.startswith("not JSON"))
    assert small.payload() == b"{not json"  # the original bytes, untouched
    requests = [json.loads(v) for v in read_all(broker, env["REQUESTS_TOPIC"])]
    assert "500" not in {r["root_id"] for r in requests}  # the retweet was dropped
    assert len({(r["root_id"], r["seq"]) for r in requests}) == len(requests)  # duplicates asked for nothing
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE root_id IS NULL) FROM posts")).one()
        dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
    engine.dispose()
    assert tuple(stored) == (17, 0) and dead == len(letters)  # written once each, none left parked


def test_two_workers_give_the_same_conversations(broker, database_url, tmp_path):
    env = stream_env(broker, tmp_path, database_url)
    workers = [stream_worker(env, tmp_path / f"worker{i}.log").start() for i in range(2)]
    try:
        produce(broker, env["TWEETS_TOPIC"], messages(seed=2))
        wait_for(lambda: _finals_match(broker, env), 150, "exact final conversations", workers[0].log)
    finally:
        for worker in workers:
            worker.stop()


def _count(database_url: str, where: str = "true") -> int:
    """Posts stored that match `where` (0 before the worker migrated)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM posts WHERE {where}")).scalar())
    except Exception:  # noqa: BLE001 - before the worker migrated
        return 0
    finally:
        engine.dispose()


def test_worker_killed_mid_stream_finds_the_parked_replies_in_the_database(broker, database_url, tmp_path):
    env = stream_env(broker, tmp_path, database_url)
    log = tmp_path / "worker.log"
    # Every reply first, the thread roots only after the restart: at the kill, replies are
    # parked in PostgreSQL waiting for parents that have not arrived.
    roots = {tweet(100, None, 0), tweet(200, None, 0)}
    first = [m for m in messages(seed=3) if m[2] not in roots]
    second = [(0, None, root) for root in sorted(roots)]
    worker = stream_worker(env, log).start()
    produce(broker, env["TWEETS_TOPIC"], first)
    wait_for(lambda: _count(database_url, "root_id IS NULL") == 9, 90, "the replies of threads 100 and 200 parked", log)
    wait_for(lambda: fully_committed(broker, env["STREAM_APP_ID"], env["TWEETS_TOPIC"]), 60, "committed offsets", log)
    worker.kill()
    produce(broker, env["TWEETS_TOPIC"], second)
    worker = stream_worker(env, log).start()
    try:
        wait_for(lambda: _finals_match(broker, env), 150, "exact final conversations after SIGKILL", log)
    finally:
        worker.stop()


def test_orphans_are_dead_lettered_with_the_reason_and_a_late_reply_reopens_its_thread(broker, database_url, tmp_path):
    env = stream_env(broker, tmp_path, database_url, orphan_ttl_seconds=3)
    log = tmp_path / "worker.log"
    worker = stream_worker(env, log).start()
    finals = lambda: final_conversations(broker, env["REQUESTS_TOPIC"], database_url)  # noqa: E731
    try:
        thread = [
            tweet(700, None, 0),
            tweet(701, 700, 1),
            tweet(702, 700, 2, text="@someone"),  # no content
            tweet(703, 702, 3),
            tweet(801, 800, 1),
        ]
        produce(broker, env["TWEETS_TOPIC"], [(i % 3, None, value) for i, value in enumerate(thread)])
        wait_for(lambda: finals() == {"700": ["701"]}, 90, "the final request", log)
        letters = lambda: [DeadLetter.model_validate_json(v) for v in read_all(broker, env["DEAD_LETTER_TOPIC"])]  # noqa: E731
        wait_for(lambda: len(letters()) == 2, 60, "the two orphans as dead letters", log)
        # Months later, a reply to the closed thread: it joins, and a new final request carries it.
        produce(broker, env["TWEETS_TOPIC"], [(2, None, tweet(704, 701, 9))])
        wait_for(lambda: finals() == {"700": ["701", "704"]}, 60, "the reopened thread's final request", log)
    finally:
        worker.stop()
    reasons = sorted(letter.reason for letter in letters())
    assert reasons == [
        "orphan reply: its parent 702 was dropped (reply without content (only mentions, links or emoji))",
        "orphan reply: its parent 800 did not arrive within 3 s",
    ]
    assert [json.loads(v)["seq"] for v in read_all(broker, env["REQUESTS_TOPIC"])] == [1, 2, 3]


def test_a_database_outage_of_three_poll_intervals_loses_nothing(broker, database_url, tmp_path):
    """The worker waits out the outage by itself (in its group or rejoining it) and ends exact."""
    migrate(database_url)
    proxy, through_proxy = TcpProxy.in_front_of(database_url)
    env = stream_env(broker, tmp_path, through_proxy, kafka_max_poll_interval_s=6, db_max_backoff_seconds=1)
    log = tmp_path / "worker.log"
    worker = stream_worker(env, log).start()
    ordered = messages(seed=4)
    try:
        produce(broker, env["TWEETS_TOPIC"], ordered[: len(ordered) // 2])
        wait_for(lambda: _count(database_url) > 0, 90, "posts before the outage", log)
        proxy.down()
        produce(broker, env["TWEETS_TOPIC"], ordered[len(ordered) // 2 :])
        wait_for(lambda: "database unavailable" in log.read_text(), 60, "the worker noticing the outage", log)
        time.sleep(20)
        assert worker.process is not None and worker.process.poll() is None, log.read_text()[-3000:]
        proxy.up()
        env_direct = {**env, "DATABASE_URL": database_url}
        wait_for(lambda: _finals_match(broker, env_direct), 150, "exact final conversations after the outage", log)
    finally:
        worker.stop()
        proxy.down()
