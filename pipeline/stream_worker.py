"""What a stream worker does with a batch of raw records and on each timer tick; the faust
app (`pipeline/topology.py`) only feeds it. Order of effects for a batch:

1. normalize every record (never raises: bad input is a dead letter), while earlier
   batches are being stored;
2. one transaction: dead letters, posts, roots, conversations, requests decided
   (`pipeline/assembly.py`, the one module that combines the tables);
3. one more: the sweep for parked replies (after the commit: see assembly.sweep);
4. produce the requests and dead letters and wait for the broker's acks;
5. record the requests as sent; the caller then acks the records (faust commits offsets).

A crash anywhere re-reads the batch: stored posts are not new again, and requests decided
but never acknowledged are sent again by the timer (`unsent`), so every root gets its
request and the inference workers' unique key keeps rows single.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from threadtag.core import metrics
from threadtag.core.progress import ProgressLog
from threadtag.core.retries import blames_the_data, with_db_retry_async
from threadtag.core.settings import Settings
from threadtag.models.corpus import conversation_tokens_read
from threadtag.pipeline import assembly, conversations_table, posts_table
from threadtag.pipeline.assembly import Timed, TimerLimits, TimerStep
from threadtag.pipeline.conversations import ConversationPolicy
from threadtag.pipeline.normalize import Dropped, RawMessage, dead_letter, normalize
from threadtag.schemas.events import AnnotationRequest, DeadLetter
from threadtag.schemas.posts import Post

log = structlog.get_logger(__name__)
T = TypeVar("T")

NORMALIZE_SLICE = 50  # records, about 2 ms of parsing: what the loop waits at most between its turns

# (topic, key, value) -> the broker's acknowledgement, awaited before offsets move on.
Send = Callable[[str, bytes, bytes], Awaitable[Awaitable[object]]]


@dataclass(frozen=True)
class Prepared:
    """A batch of records with what normalize made of each."""

    messages: list[RawMessage]
    outcomes: list[Post | Dropped | DeadLetter]
    now: float

    def part(self, start: int, end: int) -> Prepared:
        return Prepared(self.messages[start:end], self.outcomes[start:end], self.now)

    def received(self) -> dict[str, str]:
        """Post id -> the JSON text it came as (the first copy of an id, as store_batch keeps it)."""
        texts: dict[str, str] = {}
        for message, outcome in zip(self.messages, self.outcomes):
            if isinstance(outcome, Post):
                texts.setdefault(outcome.id, (message.payload or b"").decode("utf-8"))
        return texts


def policy_of(settings: Settings) -> ConversationPolicy:
    # Every stored reply has a token at least, so the model reads at most this many replies.
    read = conversation_tokens_read(settings.conv_max_len, settings.hybrid_conv_tokens)
    return ConversationPolicy(
        settings.annotate_every_replies,
        settings.annotate_quiet_seconds,
        settings.conversation_close_seconds,
        settings.orphan_ttl_seconds,
        read if settings.hybrid else settings.conv_max_len,
    )


class StreamWorker:
    def __init__(self, engine: AsyncEngine, settings: Settings, send: Send) -> None:
        self.engine = engine
        self.settings = settings
        self.policy = policy_of(settings)
        self.timer_limits = TimerLimits(
            settings.stream_timer_batch,
            settings.stream_resend_after_seconds,
            settings.dropped_posts_keep_seconds,
            settings.tweets_topic,
            settings.dead_letter_payload_max_bytes,
        )
        self.send = send
        self.stop = threading.Event()  # set on shutdown: a database retry gives up (nothing is acked then)
        self.progress = ProgressLog("stream worker", settings.progress_log_seconds)
        self.parked_counted_at = float("-inf")  # the first tick counts

    async def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        # On the event loop, not in a thread: the database's waits yield to the loop, and no
        # second thread contends for the GIL with faust's (35 % more posts/s measured).
        async def attempt() -> T:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)

        return await with_db_retry_async(attempt, self.settings.db_max_backoff_seconds, self.stop)

    async def _publish(self, requests: Sequence[AnnotationRequest], letters: Sequence[DeadLetter]) -> None:
        pending = [await self.send(self.settings.requests_topic, r.root_id.encode(), r.to_bytes()) for r in requests]
        pending += [await self.send(self.settings.dead_letter_topic, b"", d.to_bytes()) for d in letters]
        await asyncio.gather(*pending)
        for request in requests:
            metrics.REQUESTS_PRODUCED.labels(request.reason).inc()
        if requests:
            await self._in_transaction(lambda conn: conversations_table.mark_sent(conn, requests))
        metrics.DEAD_LETTERS.inc(len(letters))
        if letters:
            log.warning("dead letters sent", count=len(letters), first_reason=letters[0].reason[:200])

    async def prepare(self, messages: Sequence[RawMessage]) -> Prepared:
        """Normalize a batch on the event loop while earlier batches are stored, handing the
        loop back every NORMALIZE_SLICE records: a batch normalized in one go kept the batch
        being stored from PostgreSQL's answers for tens of milliseconds."""
        now = time.time()
        limits = (
            self.settings.max_message_bytes,
            self.settings.dead_letter_payload_max_bytes,
            self.settings.post_id_max_chars,
        )
        outcomes: list[Post | Dropped | DeadLetter] = []
        for start in range(0, len(messages), NORMALIZE_SLICE):
            outcomes += [normalize(m, now, *limits) for m in messages[start : start + NORMALIZE_SLICE]]
            await asyncio.sleep(0)
        return Prepared(list(messages), outcomes, now)

    async def store(self, batch: Prepared) -> None:
        """Store a prepared batch (a batch the database refuses on data: _refused)."""
        try:
            await self._store(batch.outcomes, batch.now, batch.received())
        except Exception as exc:  # noqa: BLE001 - whatever a record does to the database, the stream goes on
            if not blames_the_data(exc):
                raise  # the stop event ended the outage's retries, or DATABASE_URL is wrong: the batch stays unacked
            await self._refused(batch, exc)

    async def _refused(self, batch: Prepared, exc: Exception) -> None:
        """The database refused the batch on its data: halve it until the records it refuses
        are found; each of those becomes a dead letter."""
        if len(batch.messages) > 1:
            half = len(batch.messages) // 2
            await self.store(batch.part(0, half))
            await self.store(batch.part(half, len(batch.messages)))
            return
        message, outcome, now = batch.messages[0], batch.outcomes[0], batch.now
        reason = f"cannot be stored: {_first_line(exc)}"
        log.error("record dead-lettered", reason=reason, offset=message.offset)
        letter = dead_letter(message, reason, now, self.settings.dead_letter_payload_max_bytes)
        # Its replies' dead letters say what became of it.
        known = [Dropped(outcome, f"dead-lettered: {reason}")] if isinstance(outcome, Post) else []
        try:
            await self._store([letter, *known], now)
        except Exception as again:  # noqa: BLE001
            if not blames_the_data(again):
                raise
            await self._store([dead_letter(message, reason, now, 0)], now)  # the payload itself: keep only where it is

    async def _store(
        self, outcomes: Sequence[Post | Dropped | DeadLetter], now: float, received: dict[str, str] | None = None
    ) -> None:
        posts = [o for o in outcomes if isinstance(o, Post)]
        dropped = [o for o in outcomes if isinstance(o, Dropped)]
        letters = [o for o in outcomes if isinstance(o, DeadLetter)]
        stored = await self._in_transaction(
            lambda conn: assembly.store_batch(
                conn,
                posts,
                dropped,
                letters,
                now,
                self.policy,
                received,
                source=self.settings.tweets_topic,
                max_payload=self.settings.dead_letter_payload_max_bytes,
            )
        )
        swept = await self._in_transaction(
            lambda conn: assembly.sweep(conn, stored.rooted + stored.resolved, stored.parked, now, self.policy)
        )
        await self._publish(stored.requests + swept, [*letters, *stored.letters])
        metrics.ROWS_WRITTEN.labels("posts").inc(len(stored.rooted) + len(stored.parked))
        self.progress.add(
            posts=len(stored.rooted) + len(stored.parked),
            requests=len(stored.requests) + len(swept),
            dead_letters=len(letters) + len(stored.letters),
        )

    async def tick(self) -> None:
        """Due growth and final requests, expired orphans, requests never acknowledged (and,
        every STREAM_PARKED_COUNT_SECONDS, the parked count for its gauge): one transaction,
        then the sends. Where the database refuses that transaction on its data, each step
        runs alone, and the stranded sweep parent by parent: what it still refuses becomes
        dead letters, and the timer goes on."""
        now = time.time()
        count = now - self.parked_counted_at >= self.settings.stream_parked_count_seconds
        steps = self._timer_steps(now)

        def all_steps(conn: Connection) -> tuple[list[AnnotationRequest], list[DeadLetter], int | None]:
            requests: list[AnnotationRequest] = []
            letters: list[DeadLetter] = []
            for step in steps.values():
                more, fewer = step(conn)
                requests += more
                letters += fewer
            return requests, letters, posts_table.count_parked(conn) if count else None

        try:
            requests, letters, parked = await self._in_transaction(all_steps)
        except Exception as exc:  # noqa: BLE001 - a row the database refuses must not stop the timer
            if not blames_the_data(exc):
                raise
            log.error("the timer's transaction was refused on its data: its steps run apart", error=_first_line(exc))
            requests, letters = await self._steps_apart(steps, now)
            parked = None
        if parked is not None:
            metrics.PARKED_POSTS.set(parked)
            self.parked_counted_at = now
        await self._publish(requests, letters)
        self.progress.add(requests=len(requests), dead_letters=len(letters))

    def _timer_steps(self, now: float) -> dict[str, TimerStep]:
        return assembly.timer_steps(now, self.policy, self.timer_limits)

    async def _steps_apart(self, steps: dict[str, TimerStep], now: float) -> Timed:
        requests: list[AnnotationRequest] = []
        letters: list[DeadLetter] = []
        for name, step in steps.items():
            try:
                alone = self._stranded_one_by_one(now) if name == "stranded" else self._in_transaction(step)
                more, fewer = await alone
            except Exception as exc:  # noqa: BLE001
                if not blames_the_data(exc):
                    raise
                metrics.TIMER_FAILURES.labels(name).inc()
                log.error("a timer step was refused on its data; the others went on", step=name, error=_first_line(exc))
                continue
            requests += more
            letters += fewer
        return requests, letters

    async def _stranded_one_by_one(self, now: float) -> Timed:
        """The stranded sweep a parent at a time; a parent whose parked replies the database
        refuses to join: they become dead letters with the reason."""
        limit, source, max_payload = self.timer_limits.rows, self.timer_limits.source, self.timer_limits.max_payload
        parents = await self._in_transaction(lambda conn: posts_table.stranded_parents(conn, limit))
        requests: list[AnnotationRequest] = []
        letters: list[DeadLetter] = []
        for parent in parents:
            try:
                requests += await self._in_transaction(
                    lambda conn, parent=parent: assembly.sweep(conn, [parent], [], now, self.policy)
                )
            except Exception as exc:  # noqa: BLE001
                if not blames_the_data(exc):
                    raise
                metrics.TIMER_FAILURES.labels("stranded").inc()
                why = _first_line(exc)
                letters += await self._in_transaction(
                    lambda conn, parent=parent, why=why: assembly.dead_letter_parked_below(
                        conn, parent, why, now, source, max_payload
                    )
                )
        return requests, letters


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
