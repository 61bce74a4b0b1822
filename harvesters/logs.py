"""Logs through the standard `logging` module, on stderr, as text or as one JSON object a line (log shippers).

Every record carries the ids of what it is about: `log_context(job_id=..., source_id=...)` sets them for the
code that runs within it (a task of a worker, an inline run), and each record logged there names them. The
level is HARVEST_LOG_LEVEL, else the entry point's default (INFO for workers, the scheduler and the HTTP API,
WARNING for one-shot commands, whose report is their output); HARVEST_LOG_FORMAT=json for JSON lines.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO

from harvesters.settings import Settings

CONTEXT_KEYS = ("job_id", "source_id")
_context: ContextVar[Mapping[str, str]] = ContextVar("harvest_log_context", default=MappingProxyType({}))


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Name these ids (job_id, source_id) on every record logged within the block (in this thread)."""
    token = _context.set({**_context.get(), **{key: value for key, value in ids.items() if value}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current ids onto each record (`record.job_id`, `record.source_id`, `record.ids`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _context.get()
        for key in CONTEXT_KEYS:
            if not hasattr(record, key):
                setattr(record, key, ids.get(key))
        named = " ".join(f"{key.removesuffix('_id')}={value}" for key in CONTEXT_KEYS
                         if (value := getattr(record, key)))
        record.ids = f" [{named}]" if named else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the ids, the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        entry |= {key: value for key in CONTEXT_KEYS if (value := getattr(record, key, None))}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s"


class HarvestHandler(logging.StreamHandler):
    """Our stderr handler: configuring again replaces it instead of adding a second one."""


def configure_logging(config: Settings, default_level: str = "WARNING", stream: IO[str] | None = None) -> None:
    """Send the process's logs to stderr (or `stream`) at the configured level and format."""
    handler = HarvestHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if config.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, HarvestHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(config.log_level or default_level)
