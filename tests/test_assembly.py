"""The stream's transactions combine the tables in one module: traced through a batch, its
sweep and every timer step on the real PostgreSQL, the table modules are called from
pipeline/assembly.py alone and call no other table module."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from sqlalchemy import create_engine

from tests.helpers.stored_posts import POLICY, TOPIC, post
from threadtag.app.schema import migrate
from threadtag.pipeline import assembly
from threadtag.pipeline.assembly import TimerLimits
from threadtag.pipeline.normalize import Dropped

TABLES = {"posts_table", "conversations_table", "dead_letters_table", "dropped_posts_table"}


def _pipeline_calls(work: Callable[[], Any]) -> set[tuple[str, str]]:
    """(caller, callee) for every call from one module of threadtag.pipeline into another."""
    edges: set[tuple[str, str]] = set()

    def module(frame: FrameType | None) -> str | None:
        name = frame.f_globals.get("__name__", "") if frame else ""
        return name.rsplit(".", 1)[1] if name.startswith("threadtag.pipeline.") else None

    def profile(frame: FrameType, event: str, _: object) -> None:
        if event == "call" and (callee := module(frame)) and (caller := module(frame.f_back)) and caller != callee:
            edges.add((caller, callee))

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return edges


def test_only_the_assembly_calls_the_table_modules_and_they_call_no_other(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    limits = TimerLimits(rows=100, resend_after=0.0, dropped_keep=0.0, **TOPIC)

    def batch_sweep_and_timer() -> None:
        with engine.begin() as conn:
            # A root, two replies, a reply parked below a missing parent, a retweet dropped,
            # a copy of the root with another text.
            first = [post(1), post(2, 1, minute=1), post(3, 2, minute=2), post(5, 4, minute=3)]
            dropped = [Dropped(post(6), "retweet")]
            stored = assembly.store_batch(conn, first, dropped, [], 0.0, POLICY, **TOPIC)
            again = assembly.store_batch(conn, [post(1, body="changed")], [], [], 1.0, POLICY, **TOPIC)
        with engine.begin() as conn:
            assembly.sweep(conn, stored.rooted + stored.resolved, stored.parked, 1.0, POLICY)
        for step in assembly.timer_steps(1_000.0, POLICY, limits).values():
            with engine.begin() as conn:
                step(conn)
        assert stored.rooted == ["1", "2", "3"] and stored.parked == ["5"] and again.letters

    edges = _pipeline_calls(batch_sweep_and_timer)
    engine.dispose()
    into_tables = {(caller, callee) for caller, callee in edges if callee in TABLES}
    assert {callee for _, callee in into_tables} == TABLES  # the walk reached every table
    assert {caller for caller, _ in into_tables} == {"assembly"}
    assert not {(caller, callee) for caller, callee in edges if caller in TABLES and callee != "conversations"}
