"""Structured logging (structlog) configured from settings."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    # Looked up per logger, not once: test runners and CLI harnesses swap sys.stderr.
    return structlog.PrintLogger(file=sys.stderr)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stdlib handler writing to whatever sys.stderr is at the time of each record."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib and structlog output to stderr as key=value (console) or JSON lines."""
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=level.upper(), handlers=[_CurrentStderrHandler()], format="%(levelname)s %(name)s: %(message)s"
    )
    # jieba logs its dictionary load at DEBUG/INFO on every process start.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # Kafka clients log every connection at INFO; alembic its plugins and context on every command.
    for noisy in ("kafka", "aiokafka", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
