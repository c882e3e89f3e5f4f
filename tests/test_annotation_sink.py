"""The inference worker's sink against the real PostgreSQL: nothing is dropped by a failed commit."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from threadtag.app.schema import migrate
from threadtag.workers.annotation_sink import AnnotationSink


def test_a_failed_commit_keeps_the_dead_letters_for_the_retry(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    failures = [RuntimeError("connection lost at commit")]

    def fail_once(conn) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        if failures:
            raise failures.pop()

    event.listen(engine, "commit", fail_once)
    sink = AnnotationSink(engine, "v1")
    sink.add_dead_letter("requests/0/7", "unreadable request", b"{broken")
    with pytest.raises(RuntimeError):
        sink.flush()
    assert sink.flush() == 0  # the retry, as run_sink does it
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, payload FROM dead_letters")).all()
    engine.dispose()
    assert [(r.source, bytes(r.payload)) for r in rows] == [("requests/0/7", b"{broken")]
