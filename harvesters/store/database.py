"""The engine every part of the store shares: transactions, tables created once, dialect-neutral upserts."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, Table, func, make_url, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql import Select

from harvesters.errors import StoreUnavailable
from harvesters.store.schema import create_tables, make_engine, metadata

log = logging.getLogger(__name__)

#: Rows per statement when a list of values is sent at once (SQLite allows 32,766 parameters a statement).
CHUNK = 500
#: Tables whose rows changed by more than half (and more than a thousand) since their last statistics.
STALE_TABLES = text("SELECT relname FROM pg_stat_user_tables"
                    " WHERE n_mod_since_analyze > greatest(1000, n_live_tup / 2)")


class Database:
    """One SQLAlchemy engine, its tables created (or upgraded) on first use; `new` when this opening created
    the store's tables (a new, empty store). A store that cannot be opened raises StoreUnavailable, saying why
    in one line."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._created: set[int] = set()
        self._held = threading.local()  # the connection a thread holds (`connected`), with the process's id
        try:
            self.engine = make_engine(url)
            self.new = self.ensure_tables(metadata)
        except (SQLAlchemyError, ImportError) as error:
            raise StoreUnavailable(why_unavailable(url, error)) from None

    def ensure_tables(self, tables: MetaData, upgrade: Callable[[Connection], None] | None = None) -> bool:
        """Create (or upgrade, `upgrade` too) these tables once for this store object; True when they did not exist
        yet."""
        if id(tables) in self._created:
            return False
        created = create_tables(self.engine, tables, upgrade)
        self._created.add(id(tables))
        return created

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises. Within `connected`, on
        the connection held (unless a transaction is open on it already: a block within another)."""
        held = self._held_connection()
        if held is not None and not held.in_transaction():
            with held.begin():
                yield held
            return
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connected(self) -> Iterator[None]:
        """Hold one connection for this thread while the block runs: the transactions opened meanwhile use it,
        instead of taking one from the pool each (a batch's few statements, one checkout). Within another such
        block, the connection that one holds."""
        if self._held_connection() is not None:
            yield
            return
        with self.engine.connect() as connection:
            self._held.connection = (os.getpid(), connection)
            try:
                yield
            finally:
                self._held.connection = None

    def _held_connection(self) -> Connection | None:
        """The connection this thread holds, if any (never one held before a fork: the parent's)."""
        held = getattr(self._held, "connection", None)
        return held[1] if held is not None and held[0] == os.getpid() else None

    def refresh_statistics(self) -> None:
        """On PostgreSQL, ANALYZE the tables changed a lot since their statistics were taken: a harvest fills
        tables within seconds, autovacuum analyzes them a minute later, and meanwhile the planner scans them
        whole to find a batch's rows. A table another process is analyzing is skipped."""
        if self.engine.dialect.name != "postgresql":
            return
        try:
            with self.begin() as conn:
                stale = conn.execute(STALE_TABLES).scalars().all()
                if stale:
                    conn.exec_driver_sql("ANALYZE (SKIP_LOCKED) " + ", ".join(f'"{name}"' for name in stale))
        except SQLAlchemyError as error:  # not the tables' owner, an older server: autovacuum will do
            log.warning("Statistics not refreshed: %s", error)

    def count(self, query: Select[Any]) -> int:
        with self.begin() as conn:
            return conn.execute(counting(query)).scalar_one()


def mask_password(url: str) -> str:
    """A database URL as shown to people: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def why_unavailable(url: str, error: BaseException) -> str:
    """Why the store at `url` cannot be opened, in one line an operator can act on."""
    masked = mask_password(url)
    if isinstance(error, ArgumentError | NoSuchModuleError) and not isinstance(error, ImportError):
        return (f"Invalid HARVEST_DATABASE_URL {url!r}: {error}; expected an SQLAlchemy URL such as "
                "sqlite:///harvest.db or postgresql+psycopg://user@host/db")
    if isinstance(error, ImportError):
        missing = getattr(error, "name", None) or str(error)
        hint = ("pip install '.[postgres]' (psycopg, for postgresql+psycopg:// URLs)" if "postgres" in url
                else "install it")
        return f"The store {masked} needs the database driver {missing}, which is not installed: {hint}"
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return f"Cannot open the store {masked} (HARVEST_DATABASE_URL): {reason}"


def counting(query: Select[Any]) -> Select[int]:
    """The statement counting the rows of `query`."""
    return select(func.count()).select_from(query.subquery())


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], updated: Sequence[str]) -> None:
    """Insert the rows in one statement; a row whose primary key exists updates the `updated` columns instead
    (no two rows may share a primary key)."""
    if not rows:
        return
    statement: Any
    if conn.dialect.name == "postgresql":  # imported here: a SQLite store never loads PostgreSQL's dialect
        from sqlalchemy.dialects import postgresql
        statement = postgresql.insert(table)
    else:
        from sqlalchemy.dialects import sqlite
        statement = sqlite.insert(table)
    keys = [column.name for column in table.primary_key.columns]
    conn.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in updated},
    ).returning(*table.primary_key.columns), list(rows))  # RETURNING: one multi-row statement, not one per row


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
