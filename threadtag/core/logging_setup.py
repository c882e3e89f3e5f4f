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


def _renderer(fmt: str) -> Any:
    return structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)


def stdlib_handler(fmt: str) -> logging.Handler:
    """A handler that renders the standard library's records (faust, alembic, kafka, ...) the
    way structlog renders ours: one JSON object a line with LOG_FORMAT=json."""
    handler = _CurrentStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _renderer(fmt)],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso"),
            ],
        )
    )
    return handler


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib and structlog output to stderr as key=value (console) or JSON lines."""
    renderer = _renderer(fmt)
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
    logging.basicConfig(level=level.upper(), handlers=[stdlib_handler(fmt)], force=True)
    # jieba logs its dictionary load at DEBUG/INFO on every process start.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # Kafka clients log every connection at INFO; alembic its plugins and context on every command.
    for noisy in ("kafka", "aiokafka", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
