"""Harvest jobs: their records, and the claims that let several processes share one job.

Each claim is one guarded UPDATE (and a row lock on PostgreSQL): of several processes racing,
exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, get_args

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement, Select

from harvesters.clock import new_id, utcnow
from harvesters.errors import JobAlreadyRunning, NotFound
from harvesters.models import FINISHED_JOB_STATUSES, HarvestError, HarvestJob, ItemStatus
from harvesters.store.database import Database, chunks, counting
from harvesters.store.schema import items, jobs, records, sources

UNSETTLED = ("pending", "started")
ITEM_STATUSES: tuple[str, ...] = get_args(ItemStatus)
_NEWEST = (select(jobs.c.id).where(jobs.c.source_id == sources.c.id, jobs.c.preview.is_(False))
           .order_by(jobs.c.created.desc(), jobs.c.id).limit(1).correlate(sources).scalar_subquery())
ITEM_COUNTS = (select(items.c.job_id, items.c.status, func.count())
               .where(items.c.job_id.in_(bindparam("job_ids", expanding=True)))
               .group_by(items.c.job_id, items.c.status))


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job as the store keeps it: its documented fields and the state processes share."""

    id: str
    source_id: str
    status: str
    created: datetime
    started: datetime | None
    ended: datetime | None
    errors: list[dict[str, Any]]
    preview: bool
    max_items: int | None
    gathered: bool
    truncated: bool
    gather_failed: bool
    heartbeat: datetime | None
    running_source: str | None
    finalizing: bool
    resumed: int
    scheduled_for: datetime | None
    stage: str | None = None
    announced: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES

    def fields(self) -> dict[str, Any]:
        """The job's documented fields (HarvestJobFields), to validate into one of its shapes."""
        return {"id": self.id, "source": self.source_id, "status": self.status, "created": self.created,
                "started": self.started, "ended": self.ended, "errors": self.errors or []}

    def to_model(self) -> HarvestJob:
        return HarvestJob(**self.fields())


#: A job's columns in JobRow's order: its rows make JobRows positionally (a listing makes many).
JOB_ROWS = select(*(jobs.c[field.name] for field in dataclasses.fields(JobRow)))
LAST_JOBS = JOB_ROWS.where(jobs.c.id.in_(
    select(_NEWEST).where(sources.c.id.in_(bindparam("source_ids", expanding=True)))))
# read for every batch, built once
JOB_ROW = JOB_ROWS.where(jobs.c.id == bindparam("job_id"))
JOB_STATUS = select(jobs.c.status).where(jobs.c.id == bindparam("job_id"))
FINALIZING = select(jobs.c.gathered, jobs.c.finalizing, jobs.c.status).where(jobs.c.id == bindparam("job_id"))
FINALIZING_LOCKED = FINALIZING.with_for_update()
UNSETTLED_DATASET = select(items.c.id).where(items.c.job_id == bindparam("job_id"), items.c.status.in_(UNSETTLED),
                                             items.c.kind != "dataservice").limit(1)


class Jobs(Database):
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

    def job_row(self, job_id: str) -> JobRow:
        with self.begin() as conn:
            row = conn.execute(JOB_ROW, {"job_id": job_id}).first()
        if row is None:
            raise NotFound(f"No harvest job '{job_id}'")
        return JobRow(*row)

    def job_finished(self, job_id: str) -> bool:
        """Whether the job has ended (done, failed, cancelled...): its status alone read."""
        with self.begin() as conn:
            status = conn.execute(JOB_STATUS, {"job_id": job_id}).scalar()
        if status is None:
            raise NotFound(f"No harvest job '{job_id}'")
        return status in FINISHED_JOB_STATUSES

    def list_jobs(self, source_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[HarvestJob]:
        """Jobs (previews excluded), newest first."""
        return [row.to_model() for row in self.list_job_rows(source_id, limit, offset)]

    def list_job_rows(self, source_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[JobRow]:
        query = _job_rows_query(bool(source_id), limit is not None)
        with self.begin() as conn:
            return [JobRow(*row) for row in conn.execute(
                query, {"source_id": source_id, "offset": offset, "limit": limit})]

    def item_counts(self, job_ids: Collection[str]) -> dict[str, dict[str, int]]:
        """The number of items of each status, for each of these jobs (in one query)."""
        counts: dict[str, dict[str, int]] = {job_id: dict.fromkeys(ITEM_STATUSES, 0) for job_id in job_ids}
        with self.begin() as conn:
            for chunk in chunks(sorted(job_ids)):
                for job_id, status, count in conn.execute(ITEM_COUNTS, {"job_ids": list(chunk)}):
                    counts[job_id][status] = count
        return counts

    def count_jobs_by_status(self) -> dict[str, int]:
        """How many jobs (previews excluded) have each status."""
        with self.begin() as conn:
            return dict(conn.execute(select(jobs.c.status, func.count()).where(jobs.c.preview.is_(False))
                                     .group_by(jobs.c.status)).all())

    def last_job_rows(self, source_ids: Collection[str]) -> dict[str, JobRow]:
        """The last job (previews excluded) of each of these sources that has one, by source id, in one query: each
        source's newest job found through the (source, created) index."""
        found: dict[str, JobRow] = {}
        with self.begin() as conn:
            for chunk in chunks(sorted(set(source_ids))):
                found |= {row.source_id: JobRow(*row) for row in conn.execute(LAST_JOBS, {"source_ids": list(chunk)})}
        return found

    def count_jobs(self, source_id: str | None = None) -> int:
        with self.begin() as conn:
            return conn.execute(_count_jobs_query(bool(source_id)), {"source_id": source_id}).scalar_one()

    def delete_job(self, job_id: str) -> None:
        with self.begin() as conn:
            _forget_records(conn, items.c.job_id == job_id)
            conn.execute(delete(items).where(items.c.job_id == job_id))
            conn.execute(delete(jobs).where(jobs.c.id == job_id))

    def purge_jobs(self, before: datetime) -> int:
        """Delete finished jobs created before `before`, with their items; return how many."""
        old = select(jobs.c.id).where(jobs.c.created < before, jobs.c.status.in_(FINISHED_JOB_STATUSES))
        with self.begin() as conn:
            doomed = list(conn.execute(old).scalars())
            for chunk in chunks(doomed):
                _forget_records(conn, items.c.job_id.in_(chunk))
                conn.execute(delete(items).where(items.c.job_id.in_(chunk)))
                conn.execute(delete(jobs).where(jobs.c.id.in_(chunk)))
        return len(doomed)

    # --- distributed runs: claims, heartbeats, take-over ---------------------------------------------

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
        """Whether the caller finalizes the job: it is gathered, every dataset item is settled (its data services
        are the finalizer's to write, after them) and nobody else finalizes it. True for one caller only, however
        many settle items at the same time.

        Every batch asks (whoever settles the last item finalizes): a look without a lock answers most of them
        (the gather goes on, or items are left), so that the workers do not queue on the job's row for nothing.
        A look that misses a gather's end made meanwhile is safe: the gather asks again once it has ended."""
        with self.begin() as conn:
            if not _finalizable(conn, job_id, locked=False):
                return False
            return _finalizable(conn, job_id, locked=True) and conn.execute(
                update(jobs).where(jobs.c.id == job_id, jobs.c.finalizing.is_(False)).values(finalizing=True)
            ).rowcount == 1

    def unfinished_jobs(self) -> list[JobRow]:
        with self.begin() as conn:
            return [JobRow(**row) for row in conn.execute(
                select(jobs).where(jobs.c.status.not_in(FINISHED_JOB_STATUSES)).order_by(jobs.c.created)
            ).mappings()]

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
        error = HarvestError(message=message).to_json()
        with self.begin() as conn:
            if (errors := _unfinished_errors(conn, job_id)) is None:
                return False
            unsettled = (items.c.job_id == job_id) & items.c.status.in_(UNSETTLED)
            _forget_records(conn, unsettled)
            conn.execute(update(items).where(unsettled).values(status="failed", ended=utcnow(), errors=[error]))
            return _end_failed(conn, job_id, [*errors, error])

    def pause_job(self, job_id: str, message: str) -> bool:
        """End an unfinished job as failed with this error, leaving its unsettled items pending (neither done
        nor failed) for the next run to write. False when the job had already ended."""
        error = HarvestError(message=message).to_json()
        with self.begin() as conn:
            errors = _unfinished_errors(conn, job_id)
            return errors is not None and _end_failed(conn, job_id, [*errors, error])


def _unfinished_errors(conn: Connection, job_id: str) -> list[dict[str, Any]] | None:
    """The errors of the job, locked, if it is unfinished."""
    return conn.execute(select(jobs.c.errors).where(
        jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
    ).with_for_update()).scalar()


def _end_failed(conn: Connection, job_id: str, errors: list[dict[str, Any]]) -> bool:
    return conn.execute(update(jobs).where(
        jobs.c.id == job_id, jobs.c.status.not_in(FINISHED_JOB_STATUSES)
    ).values(status="failed", ended=utcnow(), running_source=None, errors=errors)).rowcount == 1


def _forget_records(conn: Connection, which: ColumnElement[bool]) -> None:
    """Delete the records of the items `which` selects."""
    conn.execute(delete(records).where(records.c.item_id.in_(select(items.c.id).where(which))))


def _finalizable(conn: Connection, job_id: str, locked: bool) -> bool:
    """Whether the job is gathered, neither finalizing nor finished, with no dataset item left to settle; `locked`
    holds its row until the end of the transaction."""
    job = conn.execute(FINALIZING_LOCKED if locked else FINALIZING, {"job_id": job_id}).one()
    return job.gathered and not job.finalizing and job.status not in FINISHED_JOB_STATUSES and conn.execute(
        UNSETTLED_DATASET, {"job_id": job_id}).first() is None


# The listings' statements are built once (building one takes longer than SQLite takes to run it); their values
# are bound when they run.


@cache
def _jobs_query(of_source: bool) -> Select[Any]:
    """The jobs (previews excluded) of the source `source_id`, or of every source."""
    query = JOB_ROWS.where(jobs.c.preview.is_(False))
    return query.where(jobs.c.source_id == bindparam("source_id")) if of_source else query


@cache
def _job_rows_query(of_source: bool, limited: bool) -> Select[Any]:
    """Newest first, from row `offset`, at most `limit` rows when limited."""
    query = _jobs_query(of_source).order_by(jobs.c.created.desc(), jobs.c.id).offset(bindparam("offset"))
    return query.limit(bindparam("limit")) if limited else query


@cache
def _count_jobs_query(of_source: bool) -> Select[int]:
    return counting(_jobs_query(of_source))
