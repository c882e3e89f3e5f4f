"""One root resolver for the stream and for threads assembled from files: chains in any
order, stored parents, Twitter v2 roots, and cycles that end in bounded time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import create_engine, text

from tests.helpers.streaming import store_posts
from threadtag.app.schema import migrate
from threadtag.models.corpus import assemble_threads
from threadtag.schemas.posts import Post
from threadtag.schemas.reply_chains import resolve_roots

T = datetime(2026, 5, 1, tzinfo=timezone.utc)


def post(pid: str, parent: str | None = None, root: str | None = None, minute: int = 0) -> Post:
    return Post(
        id=pid, parent_id=parent, root_id=root, created_at=T + timedelta(minutes=minute), text="x", platform="twitter"
    )


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """work(), or a failure if it has not returned after `seconds` (a cycle would loop forever)."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    return result[0]


def test_chains_resolve_in_memory_in_any_order():
    batch = [post("d", "c"), post("c", "b"), post("b", "a"), post("a")]
    assert resolve_roots(batch, {}) == {"a": "a", "b": "a", "c": "a", "d": "a"}


def test_stored_parents_give_their_root_or_park_the_child():
    batch = [post("x", "p1"), post("y", "p2"), post("z", "missing"), post("w", "x")]
    roots = resolve_roots(batch, {"p1": "r1", "p2": None})
    assert roots == {"x": "r1", "y": None, "z": None, "w": "r1"}


def test_twitter_v2_names_the_root_up_front_and_cycles_park():
    batch = [post("v", "u", root="r"), post("c1", "c2"), post("c2", "c1")]
    assert resolve_roots(batch, {}) == {"v": "r", "c1": None, "c2": None}


CYCLE = [post("r"), post("a", "b", minute=1), post("b", "a", minute=2)]


def test_files_with_a_reply_cycle_assemble_in_bounded_time():
    threads = within(5, lambda: assemble_threads(CYCLE))
    assert [(root.id, [r.id for r in replies]) for root, replies in threads] == [("r", [])]


def test_files_and_the_stream_build_the_same_threads():
    posts = [
        post("r"),
        post("c", "b", minute=3),
        post("b", "r", minute=1),
        post("v", "gone", root="r", minute=2),
        post("o", "missing", minute=4),
    ]
    [(root, replies)] = assemble_threads(posts)
    streamed = resolve_roots(posts, {})
    assert root.id == "r" and [r.id for r in replies] == ["b", "v", "c"]
    assert {pid for pid, rid in streamed.items() if rid == "r"} == {"r", "b", "v", "c"}


def test_the_stream_stores_a_reply_cycle_in_bounded_time(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    try:
        ids = [f"cycle-{p.id}-{datetime.now().timestamp()}" for p in CYCLE]
        renamed = {p.id: i for p, i in zip(CYCLE, ids)}
        posts = [
            Post(
                id=renamed[p.id],
                parent_id=renamed.get(p.parent_id or ""),
                root_id=None,
                created_at=p.created_at,
                text="x",
                platform="twitter",
            )
            for p in CYCLE
        ]
        within(30, lambda: store_posts(engine, posts))
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, root_id FROM posts WHERE id = ANY(:ids)"), {"ids": ids}).all())
        root, a, b = ids
        assert rows == {root: root, a: None, b: None}  # the root stored, the cycle parked (it ends as orphans)
    finally:
        engine.dispose()
