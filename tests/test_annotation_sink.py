"""The inference worker's sink against the real PostgreSQL: nothing is dropped by a failed commit."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from threadtag.app.schema import migrate
from threadtag.workers.annotation_sink import Annotation, AnnotationSink


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


def _rows(engine) -> list[tuple[int, str, bool]]:  # noqa: ANN001
    with engine.connect() as conn:
        query = "SELECT request_seq, hashtags->0->>'tag', final FROM annotations ORDER BY request_seq"
        return [tuple(row) for row in conn.execute(text(query))]


def test_a_final_answer_equal_to_the_newest_row_marks_it_final_instead_of_a_copy(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO model_versions (version, path) VALUES ('v1', 'v1.pt'), ('v2', 'v2.pt')"))
        conn.execute(
            text("INSERT INTO posts (id, platform, created_at, text, raw) VALUES ('r', 'twitter', now(), 'x', '{}')")
        )
    tags = [{"tag": "open", "score": -1.25}]
    sink = AnnotationSink(engine, "v1")
    sink.add([Annotation("r", 1, 0, tags)])
    assert sink.flush() == 1
    sink.add([Annotation("r", 2, 3, tags, final=True)])  # the same answer: row 1 becomes final
    assert sink.flush() == 0 and _rows(engine) == [(1, "open", True)]
    sink.add([Annotation("r", 2, 3, tags, final=True)])  # redelivered: still one row
    assert sink.flush() == 0 and _rows(engine) == [(1, "open", True)]
    sink.add([Annotation("r", 3, 4, [{"tag": "final", "score": -0.5}], final=True)])  # a new answer: a row
    assert sink.flush() == 1 and _rows(engine) == [(1, "open", True), (3, "final", True)]
    # Within one batch: a growth row and the final that repeats it become one final row.
    sink.add([Annotation("r", 4, 5, tags), Annotation("r", 5, 5, tags, final=True)])
    assert sink.flush() == 1 and _rows(engine)[-1] == (4, "open", True)
    # Another model's rows are not this model's answer.
    other = AnnotationSink(engine, "v2")
    other.add([Annotation("r", 5, 5, tags, final=True)])
    assert other.flush() == 1
    with engine.connect() as conn:
        shown = conn.execute(text("SELECT request_seq, final FROM latest_annotations")).one()
    engine.dispose()
    assert tuple(shown) == (5, True)
