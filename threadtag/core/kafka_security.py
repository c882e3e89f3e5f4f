"""Kafka security settings (TLS, SASL) in the form each client takes them: keyword arguments
for kafka-python (tools, sink workers, metrics) and credentials for faust (the stream worker)."""

from __future__ import annotations

import ssl
from typing import Any

import faust

from threadtag.core.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL (None otherwise): the CA file, or the system's CAs,
    plus a client certificate when one is set."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if settings.kafka_ssl_certfile:
        keyfile = str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
        context.load_cert_chain(str(settings.kafka_ssl_certfile), keyfile)
    return context


def _sasl_password(settings: Settings) -> str | None:
    return settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None


def kafka_python_options(settings: Settings) -> dict[str, Any]:
    """security_protocol and, as it needs them, ssl_* and sasl_* arguments of kafka-python's
    KafkaConsumer, KafkaProducer and KafkaAdminClient."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        files = {
            "ssl_cafile": settings.kafka_ssl_cafile,
            "ssl_certfile": settings.kafka_ssl_certfile,
            "ssl_keyfile": settings.kafka_ssl_keyfile,
        }
        options.update({name: str(path) for name, path in files.items() if path})
    if protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=_sasl_password(settings),
        )
    return options


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """faust's broker_credentials for the same settings (None = plaintext)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context(settings))
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=_sasl_password(settings),
        ssl_context=ssl_context(settings),  # SASL_SSL; None keeps SASL_PLAINTEXT
        mechanism=settings.kafka_sasl_mechanism,
    )
