"""The stream topology (faust): raw posts -> root resolution -> conversations -> requests.

    tweets ──normalize──▶ post-links ──resolve──▶ replies-by-root ──assemble──▶ annotation-requests
       └── broken ──▶ tweets-dlq ◀── orphans that expired ──┘

When a conversation's state ends (closed and quiet for STATE_RETENTION_SECONDS, or rootless
past ORPHAN_TTL_SECONDS), assemble sends `forget` events back to post-links for its posts.
All decisions live in `pipeline.assembly`; this module only binds them to topics and to
tables backed by changelog topics, so a restarted worker recovers its state.
"""

from __future__ import annotations

import time

import faust
import structlog
from threadtag.pipeline.assembly import (
    CONVERSATIONS,
    DEAD_LETTERS,
    LINKS,
    REQUESTS,
    ConversationPolicy,
    Emit,
    RawMessage,
    conversation_due,
    normalize,
    on_conversation,
    on_link,
    orphans_due,
)
from threadtag.pipeline.broker import ensure_topics
from threadtag.pipeline.faust_transport import StreamApp
from threadtag.pipeline.kafka_security import faust_credentials, kafka_python_options
from threadtag.schemas.events import ConversationEvent, LinkEvent

from threadtag.metrics import DEAD_LETTERS as DEAD_LETTERS_SENT
from threadtag.metrics import MESSAGES_IN, STATE_KEYS, set_ready
from threadtag.settings import Settings

log = structlog.get_logger(__name__)


def stream_topics(settings: Settings) -> dict[str, str]:
    """Stage name -> topic name, for every topic this pipeline writes or reads."""
    return {
        "tweets": settings.tweets_topic,
        LINKS: settings.links_topic,
        CONVERSATIONS: settings.conversations_topic,
        REQUESTS: settings.requests_topic,
        DEAD_LETTERS: settings.dead_letter_topic,
    }


def create_topics(settings: Settings, bootstrap: str) -> None:
    """Create the pipeline's topics before any client can auto-create them with other counts;
    the topics that tables are co-partitioned with must have KAFKA_PARTITIONS partitions."""
    ensure_topics(
        bootstrap,
        stream_topics(settings).values(),
        settings.kafka_partitions,
        settings.kafka_replication_factor,
        exact=[settings.links_topic, settings.conversations_topic],
        security=kafka_python_options(settings),
    )


def build_app(settings: Settings, bootstrap: str, producer_batch_bytes: int | None) -> faust.App:
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)  # faust makes only the last level
    app = StreamApp(
        settings.stream_app_id,
        fetch_max_wait_ms=settings.stream_fetch_max_wait_ms,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        store="memory://",
        datadir=str(settings.stream_data_dir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        web_enabled=False,
        broker_credentials=faust_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        **({"producer_max_batch_size": producer_batch_bytes} if producer_batch_bytes else {}),
    )
    names = stream_topics(settings)
    topics = {stage: app.topic(name) for stage, name in names.items()}
    # Table state is JSON (the app's default serializer is raw bytes, for the topics).
    tables = {
        "schema": faust.Schema(key_serializer="json", value_serializer="json"),
        "partitions": settings.kafka_partitions,
    }
    root_of = app.Table("root-of", **tables)
    waiting = app.Table("waiting", **tables)
    conversations = app.Table("conversations", **tables)
    policy = ConversationPolicy(
        settings.annotate_every_replies,
        settings.annotate_quiet_seconds,
        settings.conversation_close_seconds,
        settings.orphan_ttl_seconds,
        settings.state_retention_seconds,
    )

    async def send(emits: list[Emit]) -> None:
        for emit in emits:
            await topics[emit.topic].send(key=emit.key.encode(), value=emit.value.to_bytes())
            if emit.topic == DEAD_LETTERS:
                DEAD_LETTERS_SENT.inc()

    @app.agent(topics["tweets"])
    async def normalize_posts(stream: faust.StreamT) -> None:
        async for event in stream.events():
            m = event.message
            MESSAGES_IN.labels(m.topic).inc()
            message = RawMessage(event.value, m.key, m.topic, m.partition, m.offset)
            await send(
                normalize(message, time.time(), settings.max_message_bytes, settings.dead_letter_payload_max_bytes)
            )

    @app.agent(topics[LINKS])
    async def resolve_roots(stream: faust.StreamT) -> None:
        async for value in stream:
            MESSAGES_IN.labels(names[LINKS]).inc()
            event = LinkEvent.model_validate_json(value)
            emits = on_link(
                event,
                root_of,
                waiting,
                time.time(),
                settings.orphan_ttl_seconds,
                settings.links_topic,
                settings.dead_letter_payload_max_bytes,
            )
            if event.kind == "expire" and emits:
                log.warning("orphan replies expired to the dead-letter topic", parent=event.node, count=len(emits))
            await send(emits)

    @app.agent(topics[CONVERSATIONS])
    async def assemble(stream: faust.StreamT) -> None:
        async for value in stream:
            MESSAGES_IN.labels(names[CONVERSATIONS]).inc()
            event = ConversationEvent.model_validate_json(value)
            state, emits = on_conversation(
                event,
                conversations.get(event.root),
                time.time(),
                policy,
                settings.conversations_topic,
                settings.dead_letter_payload_max_bytes,
            )
            if state is not None:
                conversations[event.root] = state
            elif event.root in conversations:
                del conversations[event.root]  # a tombstone on the changelog: the state stays bounded
                log.info("conversation state forgotten", root=event.root, messages=len(emits))
            await send(emits)

    @app.timer(settings.stream_tick_seconds)
    async def tick() -> None:
        # Tables change only inside a stream, so due work is announced as events to the owner partition.
        now = time.time()
        due_roots = [root for root, state in conversations.items() if conversation_due(state, now, policy)]
        await send([Emit(CONVERSATIONS, r, ConversationEvent(kind="tick", root=r)) for r in due_roots])
        due_nodes = [node for node, entry in waiting.items() if orphans_due(entry, now)]
        await send([Emit(LINKS, n, LinkEvent(kind="expire", node=n)) for n in due_nodes])
        for name, table in (("root_of", root_of), ("waiting", waiting), ("conversations", conversations)):
            STATE_KEYS.labels(name).set(len(table))
        set_ready(True)  # timers run once the worker has started and recovered its tables

    return app
