"""Harvest items: recorded as gathered, claimed and settled a batch at a time, listed and counted.

A pending item's record lives beside it (the `records` table) until the item is settled: written once,
as the gather serialized it, read once by the process that claims the item. A previewed item keeps there,
instead, what it would write (harvesters/preview.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy import JSON, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql import Select

from harvesters.clock import utcnow
from harvesters.models import DataserviceRef, DatasetRef, HarvestError, HarvestItem, HarvestLog
from harvesters.store.database import Database, chunks
from harvesters.store.jobs import UNSETTLED
from harvesters.store.schema import items, records

Entries = list[dict[str, str]]  # errors or logs, in their documented JSON shape
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # as the store writes JSON


@dataclass(slots=True)
class NewItem:
    """A gathered record to record: pending (with its record, to be processed) or already settled. The record
    comes with its JSON when the gather serialized it already (it is stored as it is)."""

    remote_id: str
    status: str
    remote_url: str | None = None
    kind: str = "dataset"
    record: dict[str, Any] | None = None
    record_json: bytes | None = None
    warnings: list[str] = field(default_factory=list)  # what the gather said of its record
    errors: Entries = field(default_factory=list)
    logs: Entries = field(default_factory=list)
    outcome: str | None = None
    dataset_id: str | None = None
    dataset_title: str | None = None

    @property
    def has_record(self) -> bool:
        return self.record is not None or self.record_json is not None

    def forget_record(self) -> None:
        self.record = self.record_json = None

    def stored_record(self) -> bytes:
        """The record's JSON as the store keeps it: the gather's own serialization, when it made one."""
        return self.record_json if self.record_json is not None else orjson.dumps(self.record, option=JSON_OPTIONS)

    def fields(self) -> dict[str, Any] | None:
        """The record's fields (read from its JSON when it came serialized)."""
        return self.record if self.record is not None or self.record_json is None else orjson.loads(self.record_json)


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """A pending item a process now owns: what it needs to map it (its record, unless the caller has it)."""

    id: int
    remote_id: str
    remote_url: str | None
    kind: str
    record: dict[str, Any] | None = None
    record_hash: str | None = None  # of the record with what its mapping depends on, when known already
    warnings: Sequence[str] = ()  # what the gather said of its record (a page read leniently)


@dataclass(frozen=True, slots=True)
class SettledItem:
    """How a processed item ended."""

    id: int
    status: str
    outcome: str | None = None
    dataset_id: str | None = None
    dataset_title: str | None = None
    errors: Entries = field(default_factory=list)
    logs: Entries = field(default_factory=list)
    record: dict[str, Any] | None = None  # kept with the item: what a preview would write (harvesters/preview.py)


def _claim_statement() -> Any:
    """Pending items of a list marked started, in one statement; on PostgreSQL their rows are locked in id
    order first, so that processes claiming overlapping lists wait for each other instead of deadlocking."""
    wanted = (select(items.c.id).where(items.c.id.in_(bindparam("ids", expanding=True)), items.c.status == "pending")
              .order_by(items.c.id).with_for_update())
    return (update(items).where(items.c.id.in_(wanted.scalar_subquery()), items.c.status == "pending")
            .values(status="started", started=bindparam("now"))
            .returning(items.c.id, items.c.remote_id, items.c.remote_url, items.c.kind))


# Statements run for every batch, built once (building a statement costs more than running it on SQLite).
CLAIM = _claim_statement()
RECORDS_OF = select(records.c.item_id, records.c.record).where(
    records.c.item_id.in_(bindparam("ids", expanding=True)))
RECORDED = (select(items.c.remote_id, func.min(items.c.id))
            .where(items.c.job_id == bindparam("job_id"),
                   items.c.remote_id.in_(bindparam("remote_ids", expanding=True)))
            .group_by(items.c.remote_id))
FORGET_RECORDS = delete(records).where(records.c.item_id.in_(bindparam("ids", expanding=True)))
SETTLE = update(items).where(items.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), outcome=bindparam("b_outcome"), dataset_id=bindparam("b_dataset_id"),
    dataset_title=bindparam("b_dataset_title"), errors=bindparam("b_errors", type_=JSON),
    logs=bindparam("b_logs", type_=JSON), ended=bindparam("b_now"),
)
# Rows inserted in one statement (or a few) get ascending ids in their order: sorted ids are the rows' (asking
# SQLAlchemy for the order would make SQLite insert one row per statement).
ADD = insert(items).returning(items.c.id)


class Items(Database):
    def add_items(self, job_id: str, entries: Sequence[NewItem]) -> list[int]:
        """Record items in order, in one statement; return the ids of the pending ones, to be processed."""
        if not entries:
            return []
        now = utcnow()
        rows = [
            {"job_id": job_id, "remote_id": entry.remote_id, "remote_url": entry.remote_url, "kind": entry.kind,
             "status": entry.status, "errors": entry.errors, "logs": entry.logs,
             "outcome": entry.outcome, "dataset_id": entry.dataset_id, "dataset_title": entry.dataset_title,
             "created": now, "started": None if entry.status == "pending" else now,
             "ended": None if entry.status == "pending" else now}
            for entry in entries
        ]
        with self.begin() as conn:
            ids = sorted(conn.execute(ADD, rows).scalars())
            stored = [{"item_id": item_id, "record": entry.stored_record()}
                      for item_id, entry in zip(ids, entries, strict=True) if entry.has_record]
            if stored:
                conn.execute(insert(records), stored)
        return [item_id for item_id, entry in zip(ids, entries, strict=True) if entry.status == "pending"]

    def recorded_remote_ids(self, job_id: str, remote_ids: Collection[str]) -> dict[str, int]:
        """Which of these remote ids the job already has items for, with the first such item's id."""
        found: dict[str, int] = {}
        with self.begin() as conn:
            for chunk in chunks(sorted(remote_ids)):
                found |= dict(conn.execute(RECORDED, {"job_id": job_id, "remote_ids": list(chunk)}).all())
        return found

    def add_item(self, job_id: str, remote_id: str, status: str, **values: Any) -> int:
        now = utcnow()
        values = {"errors": [], "logs": [], **values}
        with self.begin() as conn:
            return conn.execute(insert(items).values(
                job_id=job_id, remote_id=remote_id, status=status, created=now, started=now, ended=now, **values,
            ).returning(items.c.id)).scalar_one()

    def last_item_id(self, job_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(select(func.max(items.c.id)).where(items.c.job_id == job_id)).scalar() or 0

    def claim_items(self, item_ids: Sequence[int], records: bool = True) -> list[ClaimedItem]:
        """Mark the pending ones of these items started and return them, in id order (with their records,
        unless the caller has them); an item another process already has (re-delivery, another worker) is
        left out."""
        if not item_ids:
            return []
        with self.begin() as conn:
            claimed = [ClaimedItem(*row) for row in conn.execute(CLAIM, {"ids": list(item_ids), "now": utcnow()})]
            if records and claimed:
                stored = dict(conn.execute(RECORDS_OF, {"ids": [item.id for item in claimed]}).all())
                claimed = [_with_record(item, orjson.loads(stored[item.id]) if item.id in stored else None)
                           for item in claimed]
        return sorted(claimed, key=lambda item: item.id)

    def release_items(self, item_ids: Sequence[int]) -> None:
        """Put started items back to pending, their record kept: they were not written (the portal was
        unavailable)."""
        with self.begin() as conn:
            for chunk in chunks(item_ids):
                conn.execute(update(items).where(items.c.id.in_(chunk), items.c.status == "started")
                             .values(status="pending", started=None))

    def settle_items(self, conn: Connection, settled: Sequence[SettledItem]) -> None:
        """Record how these items ended, within the caller's transaction: their records forgotten, or replaced
        by what they keep (`SettledItem.record`)."""
        if not settled:
            return
        now = utcnow()
        conn.execute(SETTLE, [
            {"b_id": item.id, "b_status": item.status, "b_outcome": item.outcome, "b_dataset_id": item.dataset_id,
             "b_dataset_title": item.dataset_title, "b_errors": item.errors, "b_logs": item.logs, "b_now": now}
            for item in settled
        ])
        conn.execute(FORGET_RECORDS, {"ids": [item.id for item in settled]})
        kept = [{"item_id": item.id, "record": orjson.dumps(item.record, option=JSON_OPTIONS)}
                for item in settled if item.record is not None]
        if kept:
            conn.execute(insert(records), kept)

    def pending_item_ids(self, job_id: str, kind: str | None = None) -> list[int]:
        """The job's pending items (of one kind, if given), in id order."""
        query = select(items.c.id).where(items.c.job_id == job_id, items.c.status == "pending")
        if kind is not None:
            query = query.where(items.c.kind == kind)
        with self.begin() as conn:
            return list(conn.execute(query.order_by(items.c.id)).scalars())

    def count_unfinished_items(self, job_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(
                select(func.count()).where(items.c.job_id == job_id, items.c.status.in_(UNSETTLED))
            ).scalar_one()

    def list_items(self, job_id: str, status: str | None = None, offset: int = 0,
                   limit: int | None = None) -> list[HarvestItem]:
        query = _items_query(job_id, status).order_by(items.c.id).offset(offset).limit(limit)
        with self.begin() as conn:
            return [_item(row) for row in conn.execute(query).mappings()]

    def list_items_with_records(self, job_id: str, limit: int | None = None
                                ) -> list[tuple[HarvestItem, dict[str, Any] | None]]:
        """The job's first items, each with the record kept with it (a preview keeps what it would write)."""
        query = (select(items, records.c.record).select_from(items.outerjoin(records, records.c.item_id == items.c.id))
                 .where(items.c.job_id == job_id).order_by(items.c.id).limit(limit))
        with self.begin() as conn:
            return [(_item(row), orjson.loads(row["record"]) if row["record"] is not None else None)
                    for row in conn.execute(query).mappings()]

    def count_items(self, job_id: str, status: str | None = None) -> int:
        return self.count(_items_query(job_id, status))

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


def _items_query(job_id: str, status: str | None) -> Select[Any]:
    query = select(items).where(items.c.job_id == job_id)
    return query.where(items.c.status == status) if status else query


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


def _with_record(item: ClaimedItem, record: dict[str, Any] | None) -> ClaimedItem:
    return replace(item, record=record, warnings=(record or {}).get("warnings") or ())
