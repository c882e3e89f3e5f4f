"""The sink loop's commit: offsets that cannot be committed (the group moved on, or the broker
did not answer in time) are logged and left, since the records' rows are stored and storing
them again is harmless; the worker goes on with the next batch instead of exiting."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import structlog
from kafka.errors import CommitFailedError, KafkaTimeoutError

from threadtag.workers.batches import run_sink


@dataclass
class Record:
    topic: str
    value: bytes


@dataclass
class ScriptedConsumer:
    """The consumer calls run_sink makes, answering from a script: batches to poll, then
    `stop` set; a commit error for each commit while any are left."""

    batches: list[list[Record]]
    commit_errors: list[Exception]
    stop: threading.Event
    commits: int = 0

    def poll(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[Record]]:
        if not self.batches:
            self.stop.set()
            return {}
        return {"tweets-0": self.batches.pop(0)}

    def commit(self) -> None:
        if self.commit_errors:
            raise self.commit_errors.pop(0)
        self.commits += 1

    def assignment(self) -> set[str]:
        return set()

    def paused(self) -> set[str]:
        return set()

    def pause(self, *partitions: str) -> None: ...

    def resume(self, *partitions: str) -> None: ...


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (KafkaTimeoutError(), "KafkaTimeoutError"),
        (KafkaTimeoutError(None), "KafkaTimeoutError"),  # kafka-python prints it "KafkaTimeoutError: None"
        (CommitFailedError("rebalanced"), "CommitFailedError: rebalanced"),
    ],
)
def test_a_commit_that_fails_leaves_the_offsets_and_goes_on(error: Exception, logged: str):
    stop = threading.Event()
    consumer = ScriptedConsumer([[Record("t", b"1")], [Record("t", b"2")]], [error], stop)
    written: list[bytes] = []

    def prepare(records, retry):
        return lambda: written.extend(r.value for r in records)

    with structlog.testing.capture_logs() as logs:
        run_sink(consumer, batch_size=1, batch_wait_ms=0, max_backoff=1.0, stop=stop, prepare=prepare)  # type: ignore[arg-type]
    assert written == [b"1", b"2"]  # both batches stored: the failed commit stopped nothing
    assert consumer.commits == 1  # the second batch's offsets (past the first's) committed
    # The warning names the error, by its class where it carries no message.
    assert [e["error"] for e in logs if e["event"].startswith("offsets not committed")] == [logged]
