"""Operational failures a person can fix (a server not answering, a wrong file), said in one
line with a hint and an exit code instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes: 2 = a setting or argument is wrong (typer's own code for bad arguments too),
# 3 = a service (database, broker) cannot be reached, 4 = an input file is unusable.
EXIT_CONFIG, EXIT_CONNECTION, EXIT_INPUT = 2, 3, 4


class UsageError(ValueError):
    """An argument or option that does not fit: the command line says so in one line, exit code 2."""


@dataclass(frozen=True)
class Failure:
    message: str
    hint: str
    code: int

    def line(self) -> str:
        return f"error: {self.message} ({self.hint})"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text; its class's name where it carries no message,
    or was made with None alone (kafka-python prints that "KafkaTimeoutError: None")."""
    if exc.args and all(arg is None for arg in exc.args):
        return type(exc).__name__
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
