"""The stream worker's preparation of a batch: in slices that let the event loop run other
tasks between them, with what preparing it in one go makes."""

from __future__ import annotations

import asyncio

from tests.helpers.streaming import tweet
from threadtag.core.settings import Settings
from threadtag.pipeline.normalize import RawMessage
from threadtag.pipeline.stream_worker import NORMALIZE_SLICE, StreamWorker


def messages(count: int) -> list[RawMessage]:
    values = [tweet(i, None if i % 4 == 0 else i - 1, minute=i) for i in range(count)]
    values[7], values[NORMALIZE_SLICE + 3] = b"not json", None  # dead letters on both sides of a slice
    return [RawMessage(v, None, "tweets", 0, offset) for offset, v in enumerate(values)]


def test_a_batch_prepared_in_slices_is_the_batch_prepared_at_once_and_the_loop_turns_between() -> None:
    worker = StreamWorker(None, Settings(), None)  # type: ignore[arg-type]  # no database or broker: CPU only
    batch = messages(2 * NORMALIZE_SLICE + 5)
    turns: list[int] = []

    async def run() -> tuple[list[object], list[object]]:
        async def count_turns() -> None:
            while True:
                turns.append(1)
                await asyncio.sleep(0)

        counting = asyncio.create_task(count_turns())
        await asyncio.sleep(0)
        started = len(turns)
        sliced = await worker.prepare_yielding(batch)
        turned = len(turns) - started
        counting.cancel()
        whole = worker.prepare(batch)
        assert turned >= 3  # one turn a slice
        return [(type(o).__name__, getattr(o, "id", None)) for o in sliced.outcomes], [
            (type(o).__name__, getattr(o, "id", None)) for o in whole.outcomes
        ]

    sliced, whole = asyncio.run(run())
    assert sliced == whole
    assert len(sliced) == len(batch)
    assert [kind for kind, _ in sliced].count("DeadLetter") == 2
