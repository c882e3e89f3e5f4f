"""Exceptions a person can act on, as one line with a hint and an exit code."""

from __future__ import annotations

from threadtag.core.failures import EXIT_CONFIG, EXIT_CONNECTION, EXIT_INPUT, Failure, first_line


def describe(exc: BaseException) -> Failure | None:
    """The failure a person can act on, or None for a bug (which keeps its traceback)."""
    import psycopg
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError
    from sqlalchemy.exc import OperationalError

    from threadtag.app.main_job import MainJobFailed
    from threadtag.core.broker import BrokerStartError
    from threadtag.core.retries import is_setting_mistake
    from threadtag.models.checkpoint import CheckpointError
    from threadtag.models.corpus import CorpusError
    from threadtag.pipeline.replay import ReplayStopped

    if is_setting_mistake(exc):
        return Failure(
            f"the database refuses DATABASE_URL: {first_line(exc)}",
            "check the database name, role and password in DATABASE_URL",
            EXIT_CONFIG,
        )
    if isinstance(exc, (OperationalError, psycopg.OperationalError)):
        return Failure(
            f"the database does not answer: {first_line(exc)}",
            "check DATABASE_URL: server running, host, port, role and database name",
            EXIT_CONNECTION,
        )
    if isinstance(exc, (KafkaConnectionError, KafkaTimeoutError)):
        return Failure(
            f"the Kafka broker does not answer: {first_line(exc)}",
            "check KAFKA_BOOTSTRAP_SERVERS, or unset it for the embedded broker",
            EXIT_CONNECTION,
        )
    if isinstance(exc, BrokerStartError):
        return Failure(str(exc), "or set KAFKA_BOOTSTRAP_SERVERS to a running cluster", EXIT_CONNECTION)
    if isinstance(exc, CheckpointError):
        hint = "MODEL_PATH, --model or the active model version must name a file written by `threadtag train`"
        return Failure(str(exc), hint, EXIT_INPUT)
    if isinstance(exc, MainJobFailed):
        return Failure(str(exc), "the workers' logs are in WORKDIR/logs (--workdir, default runs/)", EXIT_CONNECTION)
    if isinstance(exc, ReplayStopped):
        return Failure(
            str(exc),
            "check the broker at KAFKA_BOOTSTRAP_SERVERS; replaying the file again stores nothing twice",
            EXIT_CONNECTION,
        )
    if isinstance(exc, CorpusError):
        return Failure(str(exc), "fix or replace the file; the README's Data section gives the formats", EXIT_INPUT)
    return None
