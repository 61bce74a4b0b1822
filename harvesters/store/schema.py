"""The store's tables, its engine, and bringing a store made by an older version up to date.

Tables are created on first use; a column or index a newer version added is added to an existing
store (new columns are always nullable or defaulted, so existing rows stay valid). Other modules
with tables of their own (the local catalog, the API keys) create them the same way, on the same engine.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    DefaultClause,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from harvesters.store.failures import SQLITE_BUSY_TIMEOUT, explain_failures
from harvesters.store.liveness import ping_after_idle


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        """The bound value of the datetime bound last is kept: a batch's rows share one timestamp (`now`), so each
        is converted once a statement, not once a row."""
        process = super().bind_processor(dialect)
        assert process is not None
        last: tuple[datetime | None, Any] = (None, None)

        def remembered(value: datetime | None) -> Any:
            nonlocal last
            seen = last
            if value is seen[0]:
                return seen[1]
            bound = process(value)
            last = (value, bound)
            return bound

        return remembered

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # PostgreSQL answers in its session time zone: back to UTC, shown the same as from SQLite
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


metadata = MetaData()

sources = Table(
    "sources", metadata,
    Column("id", String(24), primary_key=True),
    Column("slug", String(255), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("backend", String(64), nullable=False),
    Column("description", Text),
    Column("config", JSON, nullable=False, default=dict),
    Column("schedule", String(128)),
    Column("organization", String(64)),
    Column("owner", String(64)),
    Column("active", Boolean, nullable=False, default=True),
    Column("autoarchive", Boolean, nullable=False, default=True),
    Column("validation", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted", UTCDateTime()),
    Column("scheduled_at", UTCDateTime()),  # due time of the last scheduled run (harvesters/scheduler.py)
    # the catalog's identity (harvesters/identity.py), unique among live sources; null once deleted, or forced
    Column("identity", String(64), unique=True),
    Column("notifications", JSON),  # who hears of its jobs (harvesters/notifications.py)
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(24), primary_key=True),
    Column("source_id", String(24), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Column("started", UTCDateTime()),
    Column("ended", UTCDateTime()),
    Column("errors", JSON, nullable=False, default=list),
    Column("preview", Boolean, nullable=False, default=False),
    Column("max_items", Integer),
    Column("gathered", Boolean, nullable=False, default=False),
    Column("truncated", Boolean, nullable=False, default=False),
    Column("gather_failed", Boolean, nullable=False, default=False),
    # distributed runs (harvesters/queue.py, sweeper.py): liveness and hand-over between processes
    Column("heartbeat", UTCDateTime()),  # last sign of life of a process working on the job
    Column("running_source", String(24), unique=True),  # its source id while an exclusive job runs
    Column("finalizing", Boolean, nullable=False, default=False),  # one process claimed the finalize
    Column("resumed", Integer, nullable=False, default=0),  # times the sweeper took the job over
    Column("scheduled_for", UTCDateTime()),  # the due time, for a scheduled run
    # progress (harvesters/progress.py): the step it is at, the number of records the catalog announced
    Column("stage", String(16)),
    Column("announced", Integer),
    Index("ix_jobs_source_created", "source_id", "created"),  # a source's jobs newest first, its last job
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(24), nullable=False),
    Column("remote_id", Text, nullable=False),
    Column("remote_url", Text),
    Column("kind", String(16), nullable=False, default="dataset"),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("created", UTCDateTime(), nullable=False),
    Column("started", UTCDateTime()),
    Column("ended", UTCDateTime()),
    Column("errors", JSON, nullable=False, default=list),
    Column("logs", JSON, nullable=False, default=list),
    Column("dataset_id", String(64)),
    Column("dataset_title", Text),
    Index("ix_items_job_remote", "job_id", "remote_id"),
    Index("ix_items_job_status", "job_id", "status"),
)

# The record of each pending item, as gathered (its JSON, written as the gather serialized it), read by the
# process that claims the item and deleted once the item is settled: in a table of its own, so that claiming
# and settling items rewrites small rows only.
records = Table(
    "records", metadata,
    Column("item_id", Integer, primary_key=True, autoincrement=False),
    Column("record", LargeBinary, nullable=False, info={"compression": "lz4"}),
)

links = Table(
    "links", metadata,
    Column("source_id", String(24), primary_key=True),
    Column("remote_id", String(512), primary_key=True),
    Column("dataset_id", String(64), nullable=False),  # the id of a dataset, or of a data service (`kind`)
    Column("payload_hash", String(64)),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("archived_at", UTCDateTime()),
    Column("kind", String(16), nullable=False, default="dataset", server_default="dataset"),
    # the hash of the record last mapped (with what its mapping depends on), and what that mapping said
    # ({"title", "logs", "shape": harvesters/shape.py}): a record gathered again unchanged is settled without being
    # mapped again, and one read with doubts is not written when it holds less than that
    Column("record_hash", String(64)),
    Column("summary", JSON),
    # the dataset's URI upstream, where it is not its remote id: how a data service may name it. Added to an
    # older store, its links forget their record hash, so that the next run maps them again and records it.
    Column("uri", Text, info={"when_added": "UPDATE links SET record_hash = NULL"}),
)


pages = Table(
    "pages", metadata,
    # what a gather read at an URL of a source last time (harvesters/recall.py): the content's hash, the
    # records cut from it ([remote_id, remote_url, kind, skip_reason, digest] each) and the backend's notes
    Column("source_id", String(24), primary_key=True),
    Column("url", String(2048), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("records", JSON, nullable=False),
    Column("notes", JSON, nullable=False),
    Column("read_at", UTCDateTime(), nullable=False),
)


payloads = Table(
    "payloads", metadata,
    # what was last written to a portal for a remote id of a source (the payload and its harvest block, without its
    # write time): a preview shows an update as what changes against it (harvesters/preview.py). The local
    # catalog's documents hold it for their own writes: none is kept for those (older ones deleted, see
    # harvesters/targets/local/tables.py)
    Column("source_id", String(24), primary_key=True),
    Column("remote_id", String(512), primary_key=True),
    Column("written", JSON, nullable=False),
    Column("written_at", UTCDateTime(), nullable=False),
)


def dumps(value: Any) -> str:
    """JSON as the store writes it (orjson: records and documents are most of what a harvest writes)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# Pages (4 kB) a SQLite store's write-ahead log grows to before they are copied into the database (SQLite's
# default: 1,000): a harvest writes tens of megabytes, and a page its batches write again and again (an index's,
# its items') is copied once a checkpoint, so fewer checkpoints copy fewer pages.
WAL_PAGES = 16_000


def make_engine(url: str) -> Engine:
    """The store's engine; its driver's errors of a full disk or a lock held too long come out in plain words
    (failures.py). A SQLite store waits for another process's lock 30 s, or its URL's `?timeout=N`."""
    json = {"json_serializer": dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        waits = {} if "timeout" in make_url(url).query else {"timeout": SQLITE_BUSY_TIMEOUT}
        engine = create_engine(url, connect_args=waits, **json)
        explain_failures(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
            cursor.close()

        return engine
    engine = create_engine(url, **json, **_raw_queries(url))
    ping_after_idle(engine)  # not on every checkout (pool_pre_ping): a round trip per transaction
    # a batch's rows in multi-row INSERTs (as with RETURNING), not one statement per row on the server
    engine.dialect.use_insertmanyvalues_wo_returning = True
    explain_failures(engine)
    return engine


def _raw_queries(url: str) -> dict[str, Any]:
    """With psycopg, statements go to the server as SQLAlchemy writes them, with PostgreSQL's own `$1` placeholders
    (psycopg's raw cursors): psycopg otherwise rewrites each statement's `%(name)s` placeholders on every
    execution, in Python, and a batch's multi-row statements hold a thousand of them (half the CPU of saving a
    batch's links)."""
    if make_url(url).get_driver_name() != "psycopg":
        return {}
    from psycopg import RawCursor  # imported here: a SQLite store never loads the driver

    return {"paramstyle": "numeric_dollar", "connect_args": {"cursor_factory": RawCursor}}


def _use_wal(cursor: sqlite3.Cursor, attempts: int = 100) -> None:
    """Switch a SQLite database to WAL (the file keeps it). While another process switches a new database
    at the same moment, SQLite answers "locked" at once instead of waiting: wait a little and retry."""
    for _ in range(attempts - 1):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            time.sleep(0.05)
    cursor.execute("PRAGMA journal_mode=WAL")


TABLES_LOCK = 0x68617276  # PostgreSQL advisory lock held while creating the tables


def create_tables(engine: Engine, tables: MetaData, upgrade: Callable[[Connection], None] | None = None) -> bool:
    """Create the missing tables of `tables` and upgrade the existing ones (then `upgrade` moves what their
    owner keeps otherwise now); processes opening a new database at once take turns. True when none of the
    tables existed (a new store)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(TABLES_LOCK)))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        inspector = inspect(conn)
        new = not any(inspector.has_table(table.name) for table in tables.sorted_tables)
        tables.create_all(conn)
        _add_missing_columns(conn, tables)
        _move_records_out_of_items(conn, tables)
        _compress_with_lz4(conn, tables)
        if upgrade is not None:
            upgrade(conn)
        conn.commit()
    return new


def _add_missing_columns(conn: Connection, tables: MetaData) -> None:
    """Add the columns (and indexes) a store made by an older version lacks."""
    inspector = inspect(conn)
    for table in tables.sorted_tables:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(conn.dialect)}"
            if isinstance(column.server_default, DefaultClause):
                ddl += f" DEFAULT '{column.server_default.arg}'"
            elif isinstance(column.default, ScalarElementColumnDefault):
                ddl += f" DEFAULT {_sql_literal(column.default.arg)}"
            conn.exec_driver_sql(ddl)
            if when_added := column.info.get("when_added"):
                conn.exec_driver_sql(when_added)
            if column.unique:
                conn.exec_driver_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS uq_{table.name}_{column.name} "
                                     f"ON {table.name} ({column.name})")
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _move_records_out_of_items(conn: Connection, tables: MetaData) -> None:
    """A store made before records had a table of their own keeps them in `items.record`: moved to `records`,
    and the column dropped."""
    columns = {column["name"] for column in inspect(conn).get_columns("items")}
    if "records" not in tables.tables or "record" not in columns:
        return
    as_bytes = "convert_to(record::text, 'UTF8')" if conn.dialect.name == "postgresql" else "CAST(record AS BLOB)"
    conn.exec_driver_sql(f"INSERT INTO records (item_id, record) SELECT id, {as_bytes} FROM items "
                         "WHERE record IS NOT NULL")
    conn.exec_driver_sql("ALTER TABLE items DROP COLUMN record")


def _compress_with_lz4(conn: Connection, tables: MetaData) -> None:
    """On PostgreSQL, the large values (records, documents) compressed with lz4, much cheaper than the default
    (where the server has it: PostgreSQL 14 and later, built with lz4)."""
    if conn.dialect.name != "postgresql" or "lz4" not in str(conn.exec_driver_sql(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar()):
        return
    for table in tables.sorted_tables:
        for column in table.columns:
            if column.info.get("compression") == "lz4":
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} SET COMPRESSION lz4")


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value) if isinstance(value, int | float) else f"'{value}'"
