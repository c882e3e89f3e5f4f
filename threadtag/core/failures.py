"""Operational failures a person can fix (a server not answering, a wrong file), said in one
line with a hint and an exit code instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes: 2 = a setting or argument is wrong (typer's own code for bad arguments too),
# 3 = a service (database, broker) cannot be reached, 4 = an input file is unusable.
EXIT_CONFIG, EXIT_CONNECTION, EXIT_INPUT = 2, 3, 4


@dataclass(frozen=True)
class Failure:
    message: str
    hint: str
    code: int

    def line(self) -> str:
        return f"error: {self.message} ({self.hint})"


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc: BaseException) -> Failure | None:
    """The failure a person can act on, or None for a bug (which keeps its traceback)."""
    import psycopg
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError
    from sqlalchemy.exc import OperationalError

    from threadtag.core.broker import BrokerStartError
    from threadtag.models.checkpoint import CheckpointError

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
        return Failure(str(exc), "MODEL_PATH / --model must name a file written by `threadtag train`", EXIT_INPUT)
    return None
