"""The stream's state in the real PostgreSQL: posts stored once, roots resolved across
batches and workers, conversations counted exactly, timers, orphans and unsent requests."""

from __future__ import annotations

import asyncio
import json
from functools import partial

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers.stored_posts import POLICY, TOPIC, post
from tests.helpers.streaming import store_posts
from threadtag.app.schema import migrate
from threadtag.core.database import async_engine, plan_generic_without_jit, sync_engine
from threadtag.core.settings import Settings
from threadtag.pipeline import assembly, conversations_table, dropped_posts_table, posts_table, stream_worker
from threadtag.pipeline.normalize import Dropped, RawMessage
from threadtag.pipeline.stream_worker import StreamWorker
from threadtag.schemas.posts import Post
from threadtag.workers.thread_reader import read_threads


@pytest.fixture
def engine(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


store = partial(store_posts, now=0.0, policy=POLICY)  # one batch as a stream worker runs it


def thread(engine, root: int, cutoff: int) -> list[str]:
    with engine.connect() as conn:
        found = read_threads(conn, [(str(root), cutoff)])[(str(root), cutoff)]
    return [found.text] + found.replies


def test_replies_before_their_parents_join_in_time_order_once_the_root_comes(engine):
    assert store(engine, [post(4, 3, minute=4), post(3, 2, minute=3)]) == []  # parked
    assert store(engine, [post(2, 1, minute=2), post(5, 1, minute=1)]) == []
    requests = store(engine, [post(1)], now=1.0)
    assert [(r.root_id, r.seq, r.reason, r.cutoff) for r in requests] == [("1", 1, "arrival", 4)]
    assert thread(engine, 1, 4) == ["words 1", "words 5", "words 2", "words 3", "words 4"]
    # A redelivered batch stores nothing new and asks for nothing.
    assert store(engine, [post(1), post(4, 3, minute=4)], now=2.0) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n_replies FROM conversations WHERE root_id = '1'")).scalar() == 4


def test_a_deep_parked_chain_joins_its_root_with_a_bounded_number_of_statements(engine):
    """50 replies, each to the one before, parked before their root: the root's batch
    resolves every level in one recursive statement (and the sweep after it one more),
    not a statement a level."""
    assert store(engine, [post(i, i - 1, minute=i) for i in range(2, 52)]) == []
    resolving: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:
        if "WITH RECURSIVE found" in statement:
            resolving.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    requests = store(engine, [post(1)], now=1.0)
    event.remove(engine, "before_cursor_execute", count)
    assert len(resolving) == 2
    assert [(r.root_id, r.cutoff) for r in requests] == [("1", 50)]
    assert thread(engine, 1, 50) == ["words 1"] + [f"words {i}" for i in range(2, 52)]


def _key_reads(plan: dict) -> list[tuple[str, bool]]:
    """(index or table, whether it is read by a key) for every read of `posts` in a JSON plan."""
    reads = []
    if plan.get("Index Name", "").startswith(("posts_pkey", "ix_posts")):
        reads.append((plan["Index Name"], "Index Cond" in plan))
    elif plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "posts":
        reads.append(("posts", False))
    for child in plan.get("Plans", []):
        reads += _key_reads(child)
    return reads


def test_the_parked_row_lookup_reads_posts_only_by_key(engine):
    """On the plans the stream worker's sessions make (generic, statistics saying few rows
    are parked), the parked-row lookup and the UPDATE after it read `posts` by key. A plan
    that reads every parked row read their dead versions too, after a burst of resolved
    replies: up to 160 ms a batch."""
    plan_generic_without_jit(engine)
    store(engine, [post(1)] + [post(i, 1, minute=i % 50) for i in range(2, 3000)])
    store(engine, [post(i, i - 1) for i in range(5001, 5021)])  # parked: 5000 never came
    statements = {"lookup": posts_table._FIND_PARKED, "update": posts_table._ADOPT}
    with engine.connect() as conn:
        conn.rollback()  # the settings outlive a transaction rolled back
        assert [conn.execute(text(f"SHOW {name}")).scalar() for name in ("plan_cache_mode", "jit")] == [
            "force_generic_plan",
            "off",
        ]
        conn.execute(text("ANALYZE posts"))
        for name, statement in statements.items():
            for named, numbered in ((":parked", "$1"), (":rooted", "$2"), (":ids", "$1"), (":roots", "$2")):
                statement = statement.replace(named, numbered)  # PREPARE takes numbered parameters
            conn.execute(text(f"PREPARE {name}(text[], text[]) AS {statement}"))
            plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) EXECUTE {name}('{{5001}}', '{{1,2,3}}')")).scalar()
            reads = _key_reads(plan[0]["Plan"])
            assert reads and all(by_key for _, by_key in reads), (name, reads)
        conn.rollback()


def test_a_growth_request_cuts_off_at_the_replies_that_had_joined(engine):
    store(engine, [post(1)])
    requests = store(engine, [post(i, 1, minute=i) for i in (2, 3, 4, 5)], now=1.0)
    assert [(r.seq, r.reason, r.cutoff) for r in requests] == [(2, "growth", 4)]
    store(engine, [post(6, 1, minute=0)], now=2.0)  # older than the others but joined later
    assert thread(engine, 1, 4) == ["words 1", "words 2", "words 3", "words 4", "words 5"]
    assert thread(engine, 1, 5) == ["words 1", "words 6", "words 2", "words 3", "words 4", "words 5"]


def test_parent_and_child_stored_by_two_workers_at_once_still_meet(engine):
    """Each transaction misses the other's uncommitted row; the sweep after the last commit joins them."""
    child = engine.connect()
    first = assembly.store_batch(child, [post(2, 1, minute=1)], [], [], 0.0, POLICY, **TOPIC)  # not committed yet
    with engine.begin() as conn:
        parent = assembly.store_batch(conn, [post(1)], [], [], 0.0, POLICY, **TOPIC)
    with engine.begin() as conn:
        assert assembly.sweep(conn, parent.rooted, parent.parked, 0.0, POLICY) == []  # the child is not visible
    child.commit()
    with engine.begin() as conn:
        assembly.sweep(conn, first.rooted, first.parked, 0.0, POLICY)
    child.close()
    assert thread(engine, 1, 1) == ["words 1", "words 2"]


def test_a_child_parked_below_a_parent_that_another_worker_resolves_still_joins(engine):
    """The two-worker race: X stores the root and, in the same transaction, resolves the parked
    parent; Y meanwhile parks the parent's child (X's update is not visible to it), commits
    and sweeps before X commits. X's sweep must start from the parent it resolved."""
    store(engine, [post(2, 1, minute=1)])  # the parent, parked: its root has not come
    x = engine.connect()
    with_root = assembly.store_batch(x, [post(1)], [], [], 0.0, POLICY, **TOPIC)  # resolves 2, not committed
    assert with_root.resolved == ["2"]
    with engine.begin() as y:
        child = assembly.store_batch(y, [post(3, 2, minute=2)], [], [], 0.0, POLICY, **TOPIC)
    assert child.parked == ["3"]
    with engine.begin() as y:
        assert assembly.sweep(y, child.rooted, child.parked, 0.0, POLICY) == []  # 2 has no root in Y's view
    x.commit()
    with engine.begin() as conn:
        assembly.sweep(conn, with_root.rooted + with_root.resolved, with_root.parked, 0.0, POLICY)
    x.close()
    with engine.connect() as conn:
        parked = conn.execute(text("SELECT count(*) FROM posts WHERE root_id IS NULL")).scalar()
        replies = conn.execute(text("SELECT n_replies FROM conversations WHERE root_id = '1'")).scalar()
    assert parked == 0 and replies == 2
    assert thread(engine, 1, 2) == ["words 1", "words 2", "words 3"]


def test_a_copy_of_an_id_with_another_text_is_recorded_and_the_first_kept(engine):
    store(engine, [post(1)])
    before = REGISTRY.get_sample_value("threadtag_duplicate_posts_total", {"text": "different"}) or 0.0
    same = REGISTRY.get_sample_value("threadtag_duplicate_posts_total", {"text": "same"}) or 0.0
    with engine.begin() as conn:
        stored = assembly.store_batch(
            conn, [post(1, body="edited"), post(2, 1), post(2, 1, body="other"), post(1)], [], [], 0.0, POLICY, **TOPIC
        )
    assert [json.loads(d.payload())["id"] for d in stored.letters] == [1, 2]
    assert "the first is kept: 'words 1'" in stored.letters[0].reason and "'words 2'" in stored.letters[1].reason
    assert REGISTRY.get_sample_value("threadtag_duplicate_posts_total", {"text": "different"}) == before + 2
    assert REGISTRY.get_sample_value("threadtag_duplicate_posts_total", {"text": "same"}) == same + 1
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, text FROM posts")).all()) == {"1": "words 1", "2": "words 2"}
        assert conn.execute(text("SELECT count(*) FROM dead_letters")).scalar() == 2


def test_timers_send_the_final_request_and_unacknowledged_requests_again(engine):
    store(engine, [post(1), post(2, 1)], now=0.0)
    with engine.begin() as conn:
        assert conversations_table.take_due(conn, 9.0, 10) == []
        due = conversations_table.take_due(conn, 10.0, 10)
        finals = conversations_table.fire(conn, due, 10.0, POLICY)
    assert [(r.seq, r.reason, r.cutoff) for r in finals] == [(2, "final", 1)]
    with engine.begin() as conn:
        assert [r.seq for r in conversations_table.unsent(conn, older_than=11.0, limit=10)] == [2]
        conversations_table.mark_sent(conn, finals)
        assert conversations_table.unsent(conn, older_than=11.0, limit=10) == []
        assert conversations_table.take_due(conn, 1000.0, 10) == []  # closed until a reply comes


def test_orphans_become_dead_letters_that_say_why(engine):
    dropped = [
        Dropped(post(20, 1), "reply without content"),
        Dropped(post(60), "retweet"),
        Dropped(post(70), "dead-lettered: cannot be stored: DataError: too odd"),
    ]
    store(
        engine,
        [post(21, 20), post(31, 30), post(41, 40), post(40, 39), post(61, 60), post(71, 70)],
        now=0.0,
        dropped=dropped,
    )
    store(engine, [post(52, 51, root=50)], now=0.0)  # Twitter v2: names root 50, which never comes
    with engine.begin() as conn:
        assert assembly.expire_parked(conn, 59.0, POLICY, 100, "tweets", 1000) == []
        parked = assembly.expire_parked(conn, 61.0, POLICY, 100, "tweets", 1000)
        due = conversations_table.take_due(conn, 61.0, 10)
        rootless = assembly.expire_rootless(conn, [c.root_id for c in due], 61.0, POLICY, "tweets", 1000)
    reasons = {letter.payload(): letter.reason for letter in parked + rootless}
    assert reasons[b'{"id": 21}'] == "orphan reply: its parent 20 was dropped (reply without content)"
    assert reasons[b'{"id": 31}'] == "orphan reply: its parent 30 did not arrive within 60 s"
    assert reasons[b'{"id": 41}'].startswith("orphan reply: its parent 40 arrived, but not the thread's root")
    assert reasons[b'{"id": 52}'] == "orphan reply: root 50 did not arrive within 60 s"
    assert reasons[b'{"id": 61}'] == "orphan reply: its parent 60 was dropped (retweet)"
    assert reasons[b'{"id": 71}'] == (
        "orphan reply: its parent 70 was dropped (dead-lettered: cannot be stored: DataError: too odd)"
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM dead_letters")).scalar() == 7
        assert conn.execute(text("SELECT count(*) FROM conversations")).scalar() == 0


def test_the_ids_of_dropped_posts_are_forgotten_after_dropped_posts_keep_seconds(engine):
    store(engine, [], dropped=[Dropped(post(60), "retweet"), Dropped(post(61), "retweet")])
    with engine.begin() as conn:
        conn.execute(text("UPDATE dropped_posts SET dropped_at = to_timestamp(100) WHERE id = '60'"))
        conn.execute(text("UPDATE dropped_posts SET dropped_at = to_timestamp(200) WHERE id = '61'"))
        assert dropped_posts_table.forget_dropped(conn, 250.0, keep_seconds=100.0, limit=10) == 1
        assert list(conn.execute(text("SELECT id FROM dropped_posts")).scalars()) == ["61"]


def test_a_thousand_reply_thread_stays_exact(engine):
    store(engine, [post(1)])
    store(engine, [post(i, 1 if i % 2 else i - 1, minute=i) for i in range(2, 1002)], now=1.0)
    with engine.connect() as conn:
        n, positions = conn.execute(
            text("SELECT count(*), count(DISTINCT conv_pos) FROM posts WHERE root_id = '1' AND id <> '1'")
        ).one()
    assert n == positions == 1000
    assert len(thread(engine, 1, 1000)) == 1001


def _b_stores_first_while_a_waits(engine, b_posts: list[Post], a_posts: list[Post]) -> tuple[dict[str, int], int]:
    """Worker B stores `b_posts` without committing; worker A's batch waits on B's locks and
    goes on once B commits. Returns the replies' positions of root 1 and its n_replies."""
    import threading

    other = engine.connect()
    assembly.store_batch(other, b_posts, [], [], 0.0, POLICY, **TOPIC)

    def worker_a() -> None:
        with engine.begin() as conn:  # waits on B's lock on the conversation, then on the reply's key
            assembly.store_batch(conn, a_posts, [], [], 0.0, POLICY, **TOPIC)

    a = threading.Thread(target=worker_a)
    a.start()
    a.join(timeout=1.0)
    assert a.is_alive()  # A is waiting for B
    other.commit()
    other.close()
    a.join(timeout=30)
    with engine.connect() as conn:
        positions = dict(conn.execute(text("SELECT id, conv_pos FROM posts WHERE id <> '1'")).all())
        n = conn.execute(text("SELECT n_replies FROM conversations WHERE root_id = '1'")).scalar()
    return positions, n


def test_a_reply_another_worker_stores_first_leaves_no_gap_in_the_positions(engine):
    """Worker A looked the reply up before B committed it: A's insert skips it, and A's other
    replies move down so that positions stay 1..n."""
    store(engine, [post(1)])
    positions, n = _b_stores_first_while_a_waits(
        engine, [post(3, 1, minute=3)], [post(2, 1, minute=2), post(3, 1, minute=3), post(4, 1, minute=4)]
    )
    assert positions == {"3": 1, "2": 2, "4": 3} and n == 3


def test_the_timer_resolves_a_reply_left_parked_below_a_rooted_parent(engine):
    """Whatever interleaving left it there (a shuffled two-worker replay did): a parked reply
    whose parent has a root is found by an indexed query and joined, by construction."""
    store(engine, [post(1), post(2, 1, minute=1)])
    with engine.begin() as conn:  # the stranded state: the child stored parked, nothing swept after
        conn.execute(
            text(
                "INSERT INTO posts (id, platform, created_at, text, raw, parent_id) "
                "VALUES ('3', 'twitter', '2026-05-01T00:03:00Z', 'words 3', '{}', '2')"
            )
        )
    with engine.begin() as conn:
        assert posts_table.stranded_parents(conn, 100) == ["2"]
        requests = assembly.sweep(conn, posts_table.stranded_parents(conn, 100), [], 5.0, POLICY)
    with engine.begin() as conn:
        assert posts_table.stranded_parents(conn, 100) == []
        assert conn.execute(text("SELECT n_replies FROM conversations WHERE root_id = '1'")).scalar() == 2
    assert thread(engine, 1, 2) == ["words 1", "words 2", "words 3"] and [r.cutoff for r in requests] in ([], [2])


def test_a_reply_lost_to_another_worker_and_a_parked_reply_joining_in_one_batch_count_once(engine):
    """Both in one transaction: A's insert skips a reply B stored first, and a reply parked
    below one of A's posts joins after. The count taken back for the skipped reply must hold
    when the parked one joins (shuffled two-worker replays had counted one reply too many and
    left a gap in the positions)."""
    store(engine, [post(1)])
    store(engine, [post(6, 5, minute=6)])  # parked: its parent 5 comes in A's batch
    positions, n = _b_stores_first_while_a_waits(
        engine, [post(3, 1, minute=3)], [post(2, 1, minute=2), post(3, 1, minute=3), post(5, 1, minute=5)]
    )
    assert positions == {"3": 1, "2": 2, "5": 3, "6": 4} and n == 4


def test_a_request_reads_the_first_replies_in_time_order_and_no_more(engine):
    """The reader returns at most the replies the model reads, whatever the thread's length;
    a reply that arrived late but was written first is among them."""
    store(engine, [post(1)])
    store(engine, [post(i, 1, minute=i) for i in range(3, 2_003)])
    store(engine, [post(2, 1, minute=1)], now=1.0)  # late: position 2,001
    with engine.connect() as conn:
        bounded = read_threads(conn, [("1", 2_001), ("1", 2_000)], max_replies=5)
        every = read_threads(conn, [("1", 2_001)])
    assert bounded[("1", 2_001)].replies == [f"words {i}" for i in range(2, 7)]
    assert bounded[("1", 2_000)].replies == [f"words {i}" for i in range(3, 8)]  # the cutoff holds
    assert bounded[("1", 2_001)].text == "words 1" and len(every[("1", 2_001)].replies) == 2_001


def test_the_parked_gauge_is_counted_every_stream_parked_count_seconds_not_every_tick(
    engine, database_url, monkeypatch
):
    """The count reads every parked row: a tick counts only when the setting's time has passed
    since the last count, and the gauge keeps that count in between."""
    store(engine, [post(2, 1)])  # a reply whose parent has not come: parked
    settings = Settings(database_url=database_url, stream_parked_count_seconds=15)
    counted: list[int] = []

    def count(conn) -> int:
        counted.append(parked := real_count(conn))
        return parked

    real_count = posts_table.count_parked
    monkeypatch.setattr(posts_table, "count_parked", count)

    async def ticks(clock: list[float]) -> float | None:
        async_engine = create_async_engine(database_url)
        worker = StreamWorker(async_engine, settings, None)  # type: ignore[arg-type]  # nothing to send
        for now in clock:
            monkeypatch.setattr(stream_worker.time, "time", lambda now=now: now)
            await worker.tick()
        await async_engine.dispose()
        return REGISTRY.get_sample_value("threadtag_stream_parked_posts")

    gauge = asyncio.run(ticks([1_000.0, 1_001.0, 1_014.0, 1_015.0, 1_016.0]))
    assert counted == [1, 1]  # at 1,000 and 1,015
    assert gauge == 1


class Sent:
    """A stream worker's send: what it was given, acknowledged at once."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes]] = []

    async def __call__(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.records.append((topic, value))
        acked = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked

    def letters(self) -> list[dict]:
        return [json.loads(value) for topic, value in self.records if topic == "tweets-dlq"]


def _raw(pid: int, parent: int | None, created_at: str) -> RawMessage:
    value = {
        "id_str": str(pid),
        "created_at": created_at,
        "text": f"a reply about rivers {pid}",
        "in_reply_to_status_id_str": None if parent is None else str(parent),
        "user": {"id_str": "1"},
    }
    return RawMessage(json.dumps(value).encode(), None, "tweets", 0, pid)


YEAR_ONE, YEAR_9999 = "Mon Jan 01 00:00:00 +0000 0001", "Fri Dec 31 23:59:59 +0000 9999"


def test_a_database_off_utc_stores_posts_at_both_ends_of_the_years_and_the_timer_joins_them(off_utc_database_url):
    """A year-one reply parked before its root, and a year-9999 reply left parked below a
    stored root (two workers racing): the root is stored, both join, nothing is a dead letter."""
    migrate(off_utc_database_url)
    settings = Settings(database_url=off_utc_database_url, tweets_topic="tweets", dead_letter_topic="tweets-dlq")
    sent = Sent()

    async def run() -> None:
        engine = async_engine(off_utc_database_url)
        worker = StreamWorker(engine, settings, sent)
        await worker.store(await worker.prepare([_raw(8001, 8000, YEAR_ONE)]))
        await worker.store(await worker.prepare([_raw(8000, None, YEAR_ONE)]))
        await worker.store(await worker.prepare([_raw(9000, None, YEAR_9999), _raw(9001, 9000, YEAR_9999)]))
        async with engine.begin() as conn:  # the race's leftover: a reply parked below a rooted parent
            await conn.execute(
                text(
                    "INSERT INTO posts (id, platform, created_at, text, raw, parent_id) VALUES "
                    "('9002', 'twitter', '9999-12-31T23:59:59Z', 'words', '{}', '9001')"
                )
            )
        await worker.tick()
        await engine.dispose()

    asyncio.run(run())
    engine = sync_engine(off_utc_database_url)
    with engine.connect() as conn:
        roots = dict(conn.execute(text("SELECT id, root_id FROM posts")).all())
        assert conn.execute(text("SELECT count(*) FROM dead_letters")).scalar() == 0
        zone = conn.execute(text("SHOW TimeZone")).scalar()
    engine.dispose()
    assert roots == {"8000": "8000", "8001": "8000", "9000": "9000", "9001": "9000", "9002": "9000"}
    assert sent.letters() == [] and zone == "UTC"


def test_a_timer_step_refused_on_its_data_dead_letters_those_rows_and_the_timer_goes_on(
    engine, database_url, monkeypatch
):
    store(engine, [post(1), post(2, 1, minute=1), post(11), post(12, 11, minute=1)])
    with engine.begin() as conn:  # replies left parked below rooted parents
        for child, parent in (("3", "2"), ("13", "12")):
            conn.execute(
                text(
                    "INSERT INTO posts (id, platform, created_at, text, raw, parent_id) "
                    "VALUES (:c, 'twitter', '2026-05-01T00:03:00Z', 'words', '{}', :p)"
                ),
                {"c": child, "p": parent},
            )
    real_sweep = assembly.sweep

    def sweep(conn, rooted, parked, now, policy):
        if "2" in rooted:
            raise DataError("SELECT ...", {}, Exception("timestamp too small (before year 1)"))
        return real_sweep(conn, rooted, parked, now, policy)

    monkeypatch.setattr(assembly, "sweep", sweep)
    settings = Settings(database_url=database_url, tweets_topic="tweets", dead_letter_topic="tweets-dlq")
    sent = Sent()
    before = REGISTRY.get_sample_value("threadtag_stream_timer_failures_total", {"step": "stranded"}) or 0

    async def tick() -> None:
        engine = async_engine(database_url)
        await StreamWorker(engine, settings, sent).tick()
        await engine.dispose()

    asyncio.run(tick())
    with engine.connect() as conn:
        roots = dict(conn.execute(text("SELECT id, root_id FROM posts")).all())
        kept = list(conn.execute(text("SELECT id FROM dropped_posts")).scalars())
    assert "3" not in roots and roots["13"] == "11"  # the refused row a dead letter, the other joined
    [letter] = sent.letters()
    assert letter["reason"].startswith("reply below 2 cannot join its conversation: DataError: ")
    assert letter["reason"].endswith("timestamp too small (before year 1)")
    assert kept == ["3"]  # its own replies' dead letters will say what became of it
    assert REGISTRY.get_sample_value("threadtag_stream_timer_failures_total", {"step": "stranded"}) == before + 1
