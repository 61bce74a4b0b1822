"""The SQL store: sources, jobs, items, the per-source links remote_id -> dataset, and the local catalog.

SQLite by default, any SQLAlchemy URL through HARVEST_DATABASE_URL (PostgreSQL for several machines).
Tables are created on first use. Methods return the documented pydantic models.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from slugify import slugify
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from harvesters.models import (
    FINISHED_JOB_STATUSES,
    DataserviceRef,
    DatasetRef,
    HarvestError,
    HarvestItem,
    HarvestJob,
    HarvestLog,
    HarvestSource,
    OrganizationRef,
    UserRef,
    Validation,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A 24-hex-digit id, shaped like udata's ObjectIds."""
    return secrets.token_hex(12)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

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
    Column("record", JSON),
    Index("ix_items_job_remote", "job_id", "remote_id"),
    Index("ix_items_job_status", "job_id", "status"),
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
)

def catalog_table(name: str, *columns: Column[Any]) -> Table:
    """A table of the local catalog: one harvested document per (source, remote id)."""
    return Table(
        name, metadata,
        Column("id", String(24), primary_key=True),
        *columns,
        Column("source_id", String(24)),
        Column("remote_id", String(512)),
        Column("title", Text, nullable=False),
        Column("archived", UTCDateTime()),
        Column("data", JSON, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("last_modified", UTCDateTime(), nullable=False),
        UniqueConstraint("source_id", "remote_id", name=f"uq_{name}_source_remote"),
    )


datasets = catalog_table("datasets", Column("slug", String(255), nullable=False, unique=True))
dataservices = catalog_table("dataservices")


# Statements run once per item, built once (building a statement costs more than running it on SQLite).
CLAIM_ITEM = (
    update(items).where(items.c.id == bindparam("b_item"), items.c.status == "pending")
    .values(status="started", started=bindparam("now")).returning(*items.c)
)
GET_LINK = select(links).where(links.c.source_id == bindparam("source_id"), links.c.remote_id == bindparam("remote_id"))
TOUCH_LINK = (
    update(links).where(links.c.source_id == bindparam("b_source"), links.c.remote_id == bindparam("b_remote"))
    .values(last_seen=bindparam("now"))
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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


def _add_missing_columns(conn: Connection) -> None:
    """Bring a store made by an older version up to date: add the columns it lacks (new columns are
    always nullable or defaulted, so existing rows stay valid)."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(conn.dialect)}"
            if column.server_default is not None:
                ddl += f" DEFAULT '{column.server_default.arg}'"
            elif column.default is not None and column.default.is_scalar:
                ddl += f" DEFAULT {_sql_literal(column.default.arg)}"
            conn.exec_driver_sql(ddl)
            if column.unique:
                conn.exec_driver_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS uq_{table.name}_{column.name} "
                                     f"ON {table.name} ({column.name})")
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value) if isinstance(value, int | float) else f"'{value}'"


class NotFound(LookupError):
    pass


class Refused(RuntimeError):
    """What is asked conflicts with the current state (e.g. launching a source that already runs)."""


class JobAlreadyRunning(Refused):
    def __init__(self, source_id: str, job_id: str | None) -> None:
        super().__init__(
            f"Source {source_id} already has a running job ({job_id}): one job at a time per source; "
            "launch again once it has ended (a job whose worker died is resumed by `harvest sweep`)"
        )
        self.source_id = source_id
        self.job_id = job_id


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._create_tables()

    def _create_tables(self) -> None:
        """Create the missing tables; processes opening a new database at once take turns."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(TABLES_LOCK)))
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            metadata.create_all(conn)
            _add_missing_columns(conn)
            conn.commit()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    # --- sources ------------------------------------------------------------------------------------

    def create_source(self, **values: Any) -> HarvestSource:
        values.setdefault("config", {})
        values.setdefault("validation", Validation().to_json())
        with self.begin() as conn:
            values |= {"id": new_id(), "created_at": utcnow()}
            values["slug"] = self._unique_slug(conn, sources, values["name"])
            conn.execute(insert(sources).values(**values))
        return self.get_source(values["id"])

    def update_source(self, ident: str, **values: Any) -> HarvestSource:
        source = self.get_source(ident)
        with self.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == source.id).values(**values))
        return self.get_source(source.id)

    def get_source(self, ident: str, with_last_job: bool = False) -> HarvestSource:
        """A source by id, slug or name."""
        with self.begin() as conn:
            row = conn.execute(
                select(sources).where(
                    (sources.c.id == ident) | (sources.c.slug == ident) | (sources.c.name == ident)
                ).order_by(sources.c.deleted.is_not(None))
            ).mappings().first()
        if row is None:
            raise NotFound(f"No harvest source '{ident}'")
        source = _source(row)
        if with_last_job:
            source.last_job = self.last_job(source.id)
        return source

    def find_source(self, backend: str, url: str) -> HarvestSource | None:
        with self.begin() as conn:
            row = conn.execute(
                select(sources).where(
                    sources.c.backend == backend, sources.c.url == url, sources.c.deleted.is_(None)
                )
            ).mappings().first()
        return _source(row) if row else None

    def list_sources(self, deleted: bool = False, q: str | None = None, owner: str | None = None,
                     offset: int = 0, limit: int | None = None) -> list[HarvestSource]:
        """Sources in creation order; `q` searches name and URL, `owner` is an organization or user id."""
        query = _sources_query(deleted, q, owner).order_by(sources.c.created_at, sources.c.id)
        with self.begin() as conn:
            return [_source(row) for row in conn.execute(query.offset(offset).limit(limit)).mappings()]

    def count_sources(self, deleted: bool = False, q: str | None = None, owner: str | None = None) -> int:
        return self._count(_sources_query(deleted, q, owner))

    def _count(self, query: Select[Any]) -> int:
        with self.begin() as conn:
            return conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()

    # --- jobs ---------------------------------------------------------------------------------------

    def create_job(self, source_id: str, preview: bool = False, max_items: int | None = None,
                   exclusive: bool = False, scheduled_for: datetime | None = None) -> str:
        """A new pending job. An `exclusive` one is refused (JobAlreadyRunning) while another exclusive job of
        the source is unfinished: a unique column settles races between processes and machines."""
        job_id, now = new_id(), utcnow()
        try:
            with self.begin() as conn:
                conn.execute(insert(jobs).values(
                    id=job_id, source_id=source_id, status="pending", created=now, heartbeat=now, errors=[],
                    preview=preview, max_items=max_items, scheduled_for=scheduled_for,
                    running_source=source_id if exclusive else None,
                ))
        except IntegrityError:
            if not exclusive:
                raise
            raise JobAlreadyRunning(source_id, self.running_job(source_id)) from None
        return job_id

    def running_job(self, source_id: str) -> str | None:
        """The id of the source's unfinished exclusive job, if any."""
        with self.begin() as conn:
            return conn.execute(select(jobs.c.id).where(jobs.c.running_source == source_id)).scalar()

    def update_job(self, job_id: str, **values: Any) -> None:
        if values.get("status") in FINISHED_JOB_STATUSES:
            values.setdefault("running_source", None)  # the source may run again
        with self.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def add_job_error(self, job_id: str, message: str, level: str = "error") -> None:
        with self.begin() as conn:
            errors = conn.execute(select(jobs.c.errors).where(jobs.c.id == job_id)).scalar_one()
            error = HarvestError(level=level, message=message).to_json()
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(errors=[*errors, error]))

    def job_row(self, job_id: str) -> RowMapping:
        with self.begin() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFound(f"No harvest job '{job_id}'")
        return row

    def get_job(self, job_id: str, with_items: bool = True) -> HarvestJob:
        job = _job(self.job_row(job_id))
        if with_items:
            job.items = self.list_items(job_id)
        return job

    def list_jobs(self, source_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[HarvestJob]:
        """Jobs (previews excluded), newest first."""
        query = _jobs_query(source_id).order_by(jobs.c.created.desc(), jobs.c.id)
        with self.begin() as conn:
            return [_job(row) for row in conn.execute(query.offset(offset).limit(limit)).mappings()]

    def count_jobs(self, source_id: str | None = None) -> int:
        return self._count(_jobs_query(source_id))

    def last_job(self, source_id: str) -> HarvestJob | None:
        found = self.list_jobs(source_id, limit=1)
        return self.get_job(found[0].id) if found else None

    def delete_job(self, job_id: str) -> None:
        with self.begin() as conn:
            conn.execute(delete(items).where(items.c.job_id == job_id))
            conn.execute(delete(jobs).where(jobs.c.id == job_id))

    def purge_jobs(self, before: datetime) -> int:
        """Delete finished jobs created before `before`, with their items; return how many."""
        old = select(jobs.c.id).where(jobs.c.created < before, jobs.c.status.in_(FINISHED_JOB_STATUSES))
        with self.begin() as conn:
            doomed = list(conn.execute(old).scalars())
            for start in range(0, len(doomed), 500):
                chunk = doomed[start:start + 500]
                conn.execute(delete(items).where(items.c.job_id.in_(chunk)))
                conn.execute(delete(jobs).where(jobs.c.id.in_(chunk)))
        return len(doomed)

    # --- distributed runs: claims, heartbeats, take-over ---------------------------------------------
    # Each claim is one guarded UPDATE (and a row lock on PostgreSQL): of several processes racing,
    # exactly one wins, on SQLite and PostgreSQL alike.

    def claim_job(self, job_id: str) -> bool:
        """Start a pending job's gather; False when it was already started (a task delivered twice)."""
        now = utcnow()
        with self.begin() as conn:
            return conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.status == "pending")
                .values(status="initializing", started=now, heartbeat=now)
            ).rowcount == 1

    def beat(self, job_id: str) -> None:
        """A process is working on this (unfinished) job now."""
        with self.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES))
                         .values(heartbeat=utcnow()))

    def claim_finalize(self, job_id: str) -> bool:
        """Whether the caller finalizes the job: it is gathered, every item is settled and nobody else
        finalizes it. True for one caller only, however many settle items at the same time."""
        with self.begin() as conn:
            job = conn.execute(
                select(jobs.c.gathered, jobs.c.finalizing, jobs.c.status).where(jobs.c.id == job_id).with_for_update()
            ).one()
            if not job.gathered or job.finalizing or job.status in FINISHED_JOB_STATUSES:
                return False
            unsettled = conn.execute(
                select(func.count()).where(items.c.job_id == job_id, items.c.status.in_(("pending", "started")))
            ).scalar_one()
            return not unsettled and conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.finalizing.is_(False)).values(finalizing=True)
            ).rowcount == 1

    def unfinished_jobs(self) -> list[RowMapping]:
        with self.begin() as conn:
            return list(conn.execute(
                select(jobs).where(jobs.c.status.not_in(FINISHED_JOB_STATUSES)).order_by(jobs.c.created)
            ).mappings())

    def take_over_job(self, job_id: str, stale_before: datetime) -> int | None:
        """Take over an unfinished job without heartbeat since `stale_before` (its worker is gone): the items
        that worker had started are pending again. Return how many items are left, or None when the job
        is alive or another sweeper took it first."""
        with self.begin() as conn:
            taken = conn.execute(
                update(jobs).where(
                    jobs.c.id == job_id,
                    jobs.c.status.not_in(FINISHED_JOB_STATUSES),
                    func.coalesce(jobs.c.heartbeat, jobs.c.created) < stale_before,
                ).values(heartbeat=utcnow(), finalizing=False, resumed=jobs.c.resumed + 1)
            ).rowcount
            if not taken:
                return None
            conn.execute(update(items).where(items.c.job_id == job_id, items.c.status == "started")
                         .values(status="pending", started=None))
            return conn.execute(
                select(func.count()).where(items.c.job_id == job_id, items.c.status == "pending")
            ).scalar_one()

    def fail_job(self, job_id: str, message: str) -> bool:
        """End an unfinished job as failed with this error; its unsettled items fail with it.
        False when the job had already ended."""
        now = utcnow()
        error = HarvestError(message=message).to_json()
        with self.begin() as conn:
            job = conn.execute(select(jobs.c.errors).where(
                jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
            ).with_for_update()).first()
            if job is None:
                return False
            conn.execute(update(items).where(items.c.job_id == job_id, items.c.status.in_(("pending", "started")))
                         .values(status="failed", ended=now, record=None, errors=[error]))
            return conn.execute(update(jobs).where(
                jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
            ).values(status="failed", ended=now, running_source=None, errors=[*job.errors, error])).rowcount == 1

    def pause_job(self, job_id: str, message: str) -> bool:
        """End an unfinished job as failed with this error, leaving its unsettled items pending (neither done
        nor failed) for the next run to write. False when the job had already ended."""
        error = HarvestError(message=message).to_json()
        with self.begin() as conn:
            job = conn.execute(select(jobs.c.errors).where(
                jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
            ).with_for_update()).first()
            return job is not None and conn.execute(update(jobs).where(
                jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
            ).values(status="failed", ended=utcnow(), running_source=None, errors=[*job.errors, error])).rowcount == 1

    # --- schedules ----------------------------------------------------------------------------------

    def scheduled_sources(self) -> list[RowMapping]:
        """Active, not deleted sources with a schedule (raw rows: `scheduled_at` is not part of the model)."""
        with self.begin() as conn:
            return list(conn.execute(select(sources).where(
                sources.c.schedule.is_not(None), sources.c.active.is_(True), sources.c.deleted.is_(None),
            ).order_by(sources.c.created_at)).mappings())

    def claim_schedule(self, source_id: str, due: datetime) -> bool:
        """Record `due` as the source's last scheduled run; True for the one scheduler that did it first."""
        with self.begin() as conn:
            return conn.execute(update(sources).where(
                sources.c.id == source_id, (sources.c.scheduled_at.is_(None)) | (sources.c.scheduled_at < due),
            ).values(scheduled_at=due)).rowcount == 1

    # --- items --------------------------------------------------------------------------------------

    def add_items(self, job_id: str, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Insert items in order (each a dict of remote_id, remote_url, kind, status and record, errors or
        logs), in one statement; return the ids of the pending ones, to be processed."""
        now = utcnow()
        rows = [
            {"job_id": job_id, "remote_id": entry["remote_id"], "remote_url": entry.get("remote_url"),
             "kind": entry.get("kind", "dataset"), "status": entry["status"], "record": entry.get("record"),
             "errors": entry.get("errors", []), "logs": entry.get("logs", []), "created": now,
             "started": None if entry["status"] == "pending" else now,
             "ended": None if entry["status"] == "pending" else now}
            for entry in entries
        ]
        with self.begin() as conn:
            inserted = conn.execute(
                insert(items).returning(items.c.id, items.c.status, sort_by_parameter_order=True), rows
            ).all()
        return [item_id for item_id, status in inserted if status == "pending"]

    def known_remote_ids(self, job_id: str, remote_ids: Collection[str]) -> set[str]:
        """Which of these remote ids the job already has items for."""
        if not remote_ids:
            return set()
        with self.begin() as conn:
            return set(conn.execute(
                select(items.c.remote_id).where(items.c.job_id == job_id, items.c.remote_id.in_(remote_ids))
            ).scalars())

    def add_item(self, job_id: str, remote_id: str, status: str, **values: Any) -> int:
        now = utcnow()
        values = {"errors": [], "logs": [], **values}
        with self.begin() as conn:
            return conn.execute(insert(items).values(
                job_id=job_id, remote_id=remote_id, status=status, created=now, started=now, ended=now, **values,
            )).inserted_primary_key[0]

    def has_item(self, job_id: str, remote_id: str, up_to: int | None = None) -> bool:
        """Whether the job has an item for this remote id (among its items of id <= `up_to`, if given)."""
        query = select(items.c.id).where(items.c.job_id == job_id, items.c.remote_id == remote_id)
        if up_to is not None:
            query = query.where(items.c.id <= up_to)
        with self.begin() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def last_item_id(self, job_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(select(func.max(items.c.id)).where(items.c.job_id == job_id)).scalar() or 0

    def claim_item(self, item_id: int) -> RowMapping | None:
        """Mark a pending item started and return it; None when another worker already has it."""
        with self.begin() as conn:
            return conn.execute(CLAIM_ITEM, {"b_item": item_id, "now": utcnow()}).mappings().first()

    def release_item(self, item_id: int) -> None:
        """Put a started item back to pending, its record kept: it was not written (the portal was unavailable)."""
        with self.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id, items.c.status == "started")
                         .values(status="pending", started=None))

    def finish_item(self, item_id: int, status: str, **values: Any) -> None:
        with self.begin() as conn:
            conn.execute(update(items).where(items.c.id == item_id).values(
                status=status, ended=utcnow(), record=None, **values
            ))

    def pending_item_ids(self, job_id: str) -> list[int]:
        with self.begin() as conn:
            return list(conn.execute(
                select(items.c.id).where(items.c.job_id == job_id, items.c.status == "pending").order_by(items.c.id)
            ).scalars())

    def count_unfinished_items(self, job_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(
                select(func.count()).where(items.c.job_id == job_id, items.c.status.in_(("pending", "started")))
            ).scalar_one()

    def list_items(self, job_id: str, status: str | None = None, offset: int = 0,
                   limit: int | None = None) -> list[HarvestItem]:
        query = _items_query(job_id, status).order_by(items.c.id).offset(offset).limit(limit)
        with self.begin() as conn:
            return [_item(row) for row in conn.execute(query).mappings()]

    def count_items(self, job_id: str, status: str | None = None) -> int:
        return self._count(_items_query(job_id, status))

    def summary(self, job_id: str) -> dict[str, int]:
        """Counts of created / updated / unchanged / skipped / failed / archived items."""
        counts = dict.fromkeys(("created", "updated", "unchanged", "skipped", "failed", "archived"), 0)
        label = func.coalesce(items.c.outcome, items.c.status)
        with self.begin() as conn:
            for key, count in conn.execute(
                select(label, func.count()).where(items.c.job_id == job_id).group_by(label)
            ):
                counts[key] = counts.get(key, 0) + count
        return counts

    # --- links: remote_id -> dataset, per source ----------------------------------------------------

    def get_link(self, source_id: str, remote_id: str) -> RowMapping | None:
        with self.begin() as conn:
            return conn.execute(GET_LINK, {"source_id": source_id, "remote_id": remote_id}).mappings().first()

    def save_link(self, source_id: str, remote_id: str, dataset_id: str, payload_hash: str | None,
                  kind: str = "dataset") -> None:
        values = {"dataset_id": dataset_id, "payload_hash": payload_hash, "last_seen": utcnow(), "archived_at": None,
                  "kind": kind}
        with self.begin() as conn:
            updated = conn.execute(
                update(links).where(links.c.source_id == source_id, links.c.remote_id == remote_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(insert(links).values(source_id=source_id, remote_id=remote_id, **values))

    def touch_link(self, source_id: str, remote_id: str) -> None:
        with self.begin() as conn:
            conn.execute(TOUCH_LINK, {"b_source": source_id, "b_remote": remote_id, "now": utcnow()})

    def archive_link(self, source_id: str, remote_id: str) -> None:
        with self.begin() as conn:
            conn.execute(update(links).where(links.c.source_id == source_id, links.c.remote_id == remote_id)
                         .values(archived_at=utcnow(), payload_hash=None))

    def active_links(self, source_id: str) -> list[RowMapping]:
        """The source's links to datasets not archived."""
        with self.begin() as conn:
            return list(conn.execute(
                select(links).where(links.c.source_id == source_id, links.c.archived_at.is_(None))
                .order_by(links.c.remote_id)
            ).mappings())

    def count_active_links(self, source_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(
                select(func.count()).where(links.c.source_id == source_id, links.c.archived_at.is_(None))
            ).scalar_one()

    def vanished_links(self, source_id: str, job_id: str, seen_before: datetime) -> list[RowMapping]:
        """Active links of a source that this job did not see, last seen before `seen_before`."""
        seen = select(items.c.remote_id).where(items.c.job_id == job_id)
        with self.begin() as conn:
            return list(conn.execute(
                select(links).where(
                    links.c.source_id == source_id,
                    links.c.archived_at.is_(None),
                    links.c.last_seen < seen_before,
                    links.c.remote_id.not_in(seen),
                ).order_by(links.c.remote_id)
            ).mappings())

    # --- local catalog ------------------------------------------------------------------------------

    def unique_dataset_slug(self, conn: Connection, title: str) -> str:
        return self._unique_slug(conn, datasets, title)

    @staticmethod
    def _unique_slug(conn: Connection, table: Table, name: str) -> str:
        base = slugify(name, max_length=200) or "untitled"
        slug, n = base, 1
        while conn.execute(select(table.c.id).where(table.c.slug == slug)).first():
            n += 1
            slug = f"{base}-{n}"
        return slug


# --- filtered queries ------------------------------------------------------------------------------


def _sources_query(deleted: bool, q: str | None, owner: str | None) -> Select[Any]:
    query = select(sources)
    if not deleted:
        query = query.where(sources.c.deleted.is_(None))
    if q:
        query = query.where(sources.c.name.icontains(q, autoescape=True) | sources.c.url.icontains(q, autoescape=True))
    if owner:
        query = query.where((sources.c.owner == owner) | (sources.c.organization == owner))
    return query


def _jobs_query(source_id: str | None) -> Select[Any]:
    query = select(jobs).where(jobs.c.preview.is_(False))
    return query.where(jobs.c.source_id == source_id) if source_id else query


def _items_query(job_id: str, status: str | None) -> Select[Any]:
    query = select(items).where(items.c.job_id == job_id)
    return query.where(items.c.status == status) if status else query


# --- row -> model -----------------------------------------------------------------------------------


def _source(row: RowMapping) -> HarvestSource:
    return HarvestSource(
        id=row["id"], slug=row["slug"], name=row["name"], url=row["url"], backend=row["backend"],
        description=row["description"], config=row["config"] or {}, schedule=row["schedule"],
        organization=OrganizationRef(id=row["organization"]) if row["organization"] else None,
        owner=UserRef(id=row["owner"]) if row["owner"] else None,
        active=row["active"], autoarchive=row["autoarchive"],
        validation=Validation.model_validate(row["validation"] or {}),
        created_at=row["created_at"], deleted=row["deleted"],
    )


def _job(row: RowMapping) -> HarvestJob:
    return HarvestJob(
        id=row["id"], source=row["source_id"], status=row["status"], created=row["created"],
        started=row["started"], ended=row["ended"],
        errors=[HarvestError.model_validate(error) for error in row["errors"] or []],
    )


def _item(row: RowMapping) -> HarvestItem:
    """An item; its `dataset_id` and `dataset_title` are those of a data service when its kind says so."""
    ref = {"id": row["dataset_id"], "title": row["dataset_title"]} if row["dataset_id"] else None
    dataservice = row["kind"] == "dataservice"
    return HarvestItem(
        remote_id=row["remote_id"], remote_url=row["remote_url"], status=row["status"],
        created=row["created"], started=row["started"], ended=row["ended"],
        dataset=DatasetRef(**ref) if ref and not dataservice else None,
        dataservice=DataserviceRef(**ref) if ref and dataservice else None,
        errors=[HarvestError.model_validate(error) for error in row["errors"] or []],
        logs=[HarvestLog.model_validate(log) for log in row["logs"] or []],
    )
