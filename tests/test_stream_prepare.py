"""The stream worker's preparation of a batch: in slices that let the event loop run other
tasks between them, with what normalizing each record alone makes."""

from __future__ import annotations

import asyncio
import json

from tests.helpers.streaming import tweet
from threadtag.core.settings import Settings
from threadtag.pipeline.normalize import RawMessage, normalize
from threadtag.pipeline.stream_worker import NORMALIZE_SLICE, StreamWorker


def messages(count: int) -> list[RawMessage]:
    values = [tweet(i, None if i % 4 == 0 else i - 1, minute=i) for i in range(count)]
    values[7], values[NORMALIZE_SLICE + 3] = b"not json", None  # dead letters on both sides of a slice
    return [RawMessage(v, None, "tweets", 0, offset) for offset, v in enumerate(values)]


def test_a_batch_prepared_in_slices_is_every_record_normalized_and_the_loop_turns_between() -> None:
    settings = Settings()
    worker = StreamWorker(None, settings, None)  # type: ignore[arg-type]  # no database or broker: CPU only
    batch = messages(2 * NORMALIZE_SLICE + 5)
    turns: list[int] = []

    async def run() -> tuple[list[object], float, int]:
        async def count_turns() -> None:
            while True:
                turns.append(1)
                await asyncio.sleep(0)

        counting = asyncio.create_task(count_turns())
        await asyncio.sleep(0)
        started = len(turns)
        prepared = await worker.prepare(batch)
        turned = len(turns) - started
        counting.cancel()
        return prepared.outcomes, prepared.now, turned

    outcomes, now, turned = asyncio.run(run())
    assert turned >= 3  # one turn a slice
    limits = (settings.max_message_bytes, settings.dead_letter_payload_max_bytes, settings.post_id_max_chars)
    alone = [normalize(m, now, *limits) for m in batch]
    kinds = [(type(o).__name__, getattr(o, "id", None)) for o in outcomes]
    assert kinds == [(type(o).__name__, getattr(o, "id", None)) for o in alone]
    assert len(kinds) == len(batch)
    assert [kind for kind, _ in kinds].count("DeadLetter") == 2


def test_a_lang_too_long_for_its_column_is_left_empty_and_counted_not_a_dead_letter() -> None:
    from prometheus_client import REGISTRY

    from threadtag.pipeline.normalize import LANG_MAX_CHARS
    from threadtag.schemas.posts import Post

    before = REGISTRY.get_sample_value("threadtag_fields_dropped_total", {"field": "lang"}) or 0
    value = json.loads(tweet(1, None, 0))

    def with_lang(lang: str) -> object:
        message = RawMessage(json.dumps({**value, "lang": lang}).encode(), None, "t", 0, 0)
        return normalize(message, 0.0, 10_000, 1_000, 64)

    fits, long = with_lang("x" * LANG_MAX_CHARS), with_lang("x" * 40)
    assert isinstance(fits, Post) and fits.lang == "x" * LANG_MAX_CHARS
    assert isinstance(long, Post) and long.lang is None and long.raw["lang"] == "x" * 40
    assert REGISTRY.get_sample_value("threadtag_fields_dropped_total", {"field": "lang"}) == before + 1
