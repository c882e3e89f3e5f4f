"""kafka-python clients with the deployment's timeouts and TLS/SASL settings."""

from __future__ import annotations

from kafka import KafkaConsumer

from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.settings import Settings


def consumer(settings: Settings, topics: list[str], group_id: str) -> KafkaConsumer:
    """A consumer that never commits on its own: sinks commit after their rows are stored."""
    return KafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.kafka_heartbeat_interval_s * 1000),
        max_poll_interval_ms=int(settings.kafka_max_poll_interval_s * 1000),
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
        **kafka_python_options(settings),
    )
