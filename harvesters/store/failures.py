"""The store's own failures in plain words: a full disk and a lock held too long become StoreFull and StoreLocked,
whose message a person understands, instead of a raw SQL statement.

SQLAlchemy lets an engine replace the errors its driver raises (the `handle_error` event); the engine of every
store is set up here, so that the pipeline, the CLI and the workers see the same two errors on SQLite
(SQLITE_FULL, SQLITE_BUSY) and PostgreSQL (disk_full 53100, lock_not_available 55P03).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, ExceptionContext

from harvesters.errors import StoreFull, StoreLocked, StoreUnavailable

#: Seconds a SQLite store waits for another process's write lock, unless its URL says `?timeout=N`.
SQLITE_BUSY_TIMEOUT = 30.0
SQLITE_FULL, SQLITE_BUSY, SQLITE_LOCKED = 13, 5, 6
PG_DISK_FULL, PG_LOCK_NOT_AVAILABLE = "53100", "55P03"


def busy_timeout(url: URL) -> float:
    """The seconds a SQLite store at `url` waits for a lock (its `timeout` query parameter, else the default)."""
    return float(url.query.get("timeout", SQLITE_BUSY_TIMEOUT))  # type: ignore[arg-type]


def where(url: URL) -> str:
    """The store as a person names it: a SQLite file, or a server's database (never its password)."""
    if url.get_backend_name() == "sqlite":
        return url.database or "memory"
    return url.set(password=None).render_as_string(hide_password=True)


def plain_error(url: URL, error: BaseException) -> StoreUnavailable | None:
    """StoreFull or StoreLocked for a driver's error that says so, else None."""
    said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        code = code & 0xFF if isinstance(code, int) else None
        full, locked = code == SQLITE_FULL, code in (SQLITE_BUSY, SQLITE_LOCKED)
        wait = f"{busy_timeout(url):g} s (the busy timeout; `?timeout=N` in HARVEST_DATABASE_URL changes it)"
    else:
        state = getattr(error, "sqlstate", None)
        full, locked = state == PG_DISK_FULL, state == PG_LOCK_NOT_AVAILABLE
        wait = "its lock timeout"
    if full:
        return StoreFull(f"Disk full: the store ({where(url)}) has no space left to write ({said}). The job stopped "
                         "there, failed; what it wrote is kept. Free some space, then run again: the next run "
                         "carries on.")
    if locked:
        return StoreLocked(f"Store locked: another process has held a write lock on the store ({where(url)}) for "
                           f"more than {wait} ({said}). Run again once that process is done.")
    return None


def explain_failures(engine: Engine) -> None:
    """Raise StoreFull or StoreLocked (from the driver's error) where the engine's driver says so."""

    @event.listens_for(engine, "handle_error")
    def _plain(context: ExceptionContext) -> Any:
        replaced = plain_error(engine.url, context.original_exception)
        if replaced is not None:
            replaced.__cause__ = context.original_exception
        return replaced


#: Seconds a job stopped by a lock keeps trying to record its failure (each try waits the busy timeout).
RECORD_PATIENCE = 60.0


class Recording(Protocol):
    def fail_job(self, job_id: str, message: str) -> bool: ...

    def pause_job(self, job_id: str, message: str) -> bool: ...


def record_failure(store: Recording, job_id: str, error: StoreUnavailable, patience: float = RECORD_PATIENCE) -> bool:
    """End the job failed with the store's error, so that its source may run again. On a full disk the small
    write of the job alone is tried when failing its items too does not fit; a lock is waited out for up to
    `patience` seconds. True when this ended the job (False: it had ended already). Raise StoreUnavailable,
    saying the job is still marked running, when nothing could be written."""
    message = str(error)
    deadline = time.monotonic() + patience
    while True:
        try:
            return store.fail_job(job_id, message)
        except StoreFull:
            try:
                return store.pause_job(job_id, message)  # the job's row only: its unsettled items stay pending
            except StoreUnavailable:
                break
        except StoreLocked:
            if time.monotonic() > deadline:
                break
    raise type(error)(f"{message} The job {job_id} could not be marked failed either: `harvest sweep` carries it on "
                      "once the store takes writes again and its heartbeat is older than HARVEST_HEARTBEAT_TIMEOUT"
                      ) from error
