"""The embedded local catalog: datasets and data services in udata's documented shapes, in the SQL store.

Its tables live in the store's database (`tables`), its documents follow udata's shapes
(`documents`). A batch of writes joins the store's transaction (`write_batch`): a few statements
for the whole batch, slugs included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from harvesters.clock import new_id, utcnow
from harvesters.licenses import LicenseIndex, load_license_file
from harvesters.store import Store
from harvesters.store.database import chunks
from harvesters.store.slugs import free_slugs
from harvesters.targets.base import Kind, Rewrites, Write, Writes, Written
from harvesters.targets.local.documents import dataservice_document, dataset_document
from harvesters.targets.local.tables import dataservices, datasets, forget_kept_payloads, metadata

SLUG_ATTEMPTS = 5  # creates racing for one slug: the loser takes the next free one

UPDATE_ROW = {
    table.name: update(table).where(table.c.id == bindparam("b_id")).values(
        title=bindparam("b_title"), archived=None, data=bindparam("b_data", type_=table.c.data.type),
        last_modified=bindparam("b_now"),
    )
    for table in (datasets, dataservices)
}


class LocalCatalog:
    name = "local"

    def __init__(self, store: Store, licenses_file: str | None = None) -> None:
        store.ensure_tables(metadata, upgrade=forget_kept_payloads)
        self.store = store
        self.licenses_file = licenses_file

    def licenses(self) -> LicenseIndex:
        """The license list of `licenses_file` (HARVEST_LICENSES_FILE), else the bundled data.gouv.fr snapshot
        (read once per process)."""
        return load_license_file(self.licenses_file)

    def for_job(self) -> LocalCatalog:
        return self  # nothing cached: the catalog is the store

    def find(self, source_id: str, remote_id: str) -> str | None:
        with self.store.begin() as conn:
            return _found(conn, datasets, source_id, [remote_id]).get(remote_id)

    # --- writes, a batch at a time --------------------------------------------------------------------

    def write_batch(self, conn: Connection, writes: Writes) -> list[Written]:
        """Write each (write, id it had before or None) within the caller's transaction: one query finds the
        unknown ones by (source, remote id), one reads the documents updated, one inserts, one updates."""
        written: list[Written | None] = [None] * len(writes)
        for table in (datasets, dataservices):
            mine = [(index, write, known) for index, (write, known) in enumerate(writes) if _table(write) is table]
            if not mine:
                continue
            found: dict[tuple[str, str], str] = {}
            for source_id in {write.provenance.source_id for _, write, known in mine if known is None}:
                remote_ids = [write.provenance.remote_id for _, write, known in mine
                              if known is None and write.provenance.source_id == source_id]
                found |= {(source_id, remote): found_id
                          for remote, found_id in _found(conn, table, source_id, remote_ids).items()}
            updates: list[tuple[Write[Any], str]] = []
            creates: list[tuple[int, Write[Any]]] = []
            for index, write, known in mine:
                target = known or found.get((write.provenance.source_id, write.provenance.remote_id))
                if target:
                    updates.append((write, target))
                    written[index] = Written(target, "updated")
                else:
                    creates.append((index, write))
            self._update(conn, table, updates)
            for (index, _), object_id in zip(creates, self._create(conn, table, [w for _, w in creates]), strict=True):
                written[index] = Written(object_id, "created")
        return [entry for entry in written if entry is not None]

    def _create(self, conn: Connection, table: Table, writes: Sequence[Write[Any]]) -> list[str]:
        if not writes:
            return []
        now = utcnow()
        ids = [new_id() for _ in writes]
        slugs = free_slugs(conn, datasets.c.slug, [write.title for write in writes]) \
            if table is datasets else [None] * len(writes)
        rows = [
            {"id": object_id, "source_id": write.provenance.source_id, "remote_id": write.provenance.remote_id,
             "title": write.title, "archived": None, "created_at": now, "last_modified": now,
             "data": _document(object_id, slug, write, [], created_at=now, modified_at=now)}
            | ({"slug": slug} if slug else {})
            for object_id, slug, write in zip(ids, slugs, writes, strict=True)
        ]
        conn.execute(insert(table), rows)
        return ids

    def _update(self, conn: Connection, table: Table, writes: Sequence[tuple[Write[Any], str]]) -> None:
        if not writes:
            return
        now = utcnow()
        previous: dict[str, Row[Any]] = {}
        for chunk in chunks([object_id for _, object_id in writes]):
            previous |= {row.id: row for row in conn.execute(
                select(*_held(table)).where(table.c.id.in_(chunk)).with_for_update()
            )}
        rows = []
        for write, object_id in writes:
            row = previous.get(object_id)
            if row is None:
                raise LookupError(f"No {write.kind} {object_id} in the local catalog")
            rows.append({"b_id": object_id, "b_title": write.title, "b_data": _rewritten(row, write, now),
                         "b_now": now})
        conn.execute(UPDATE_ROW[table.name], rows)

    def rewrites(self, source_id: str, writes: Sequence[Write[Any]]) -> Rewrites:
        """For each write (of one kind) whose remote id of the source the catalog holds: the document it holds, and
        the one the write would make of it, stamped at the instant of the one it replaces (so that only what the
        write changes differs). By remote id."""
        if not writes:
            return {}
        table = _table(writes[0])
        held: dict[str, Row[Any]] = {}
        with self.store.begin() as conn:
            for chunk in chunks(sorted({write.provenance.remote_id for write in writes})):
                held |= {row.remote_id: row for row in conn.execute(
                    select(table.c.remote_id, *_held(table))
                    .where(table.c.source_id == source_id, table.c.remote_id.in_(chunk)))}
        return {write.provenance.remote_id: (row.data, _rewritten(row, write, row.last_modified))
                for write in writes if (row := held.get(write.provenance.remote_id)) is not None}

    # --- writes, one at a time (the Target protocol) ----------------------------------------------------

    def write_each(self, writes: Writes) -> Iterator[tuple[int, Written | Exception]]:
        """Write them one at a time, each in its own transaction, each failing alone."""
        for index, (write, known) in enumerate(writes):
            try:
                yield index, self.write(write, known)
            except Exception as error:
                yield index, error

    def write(self, write: Write[Any], known: str | None = None) -> Written:
        """Update `known`, else what another worker created first (writes are keyed on (source, remote id)),
        else create it; a slug taken meanwhile by another dataset is retried with the next free one."""
        attempts = SLUG_ATTEMPTS
        while True:
            try:
                with self.store.begin() as conn:
                    [written] = self.write_batch(conn, [(write, known)])
                return written
            except IntegrityError:
                attempts -= 1
                if not attempts:
                    raise

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        table, key = (dataservices, "archived_at") if kind == "dataservice" else (datasets, "archived")
        with self.store.begin() as conn:
            query = select(table.c.data).where(table.c.id == object_id).with_for_update()
            document = dict(conn.execute(query).scalar_one())
            stamp = when.isoformat()
            document[key] = stamp
            document["harvest"] = {**document.get("harvest", {}), "archived": "not-on-remote", "archived_at": stamp}
            conn.execute(update(table).where(table.c.id == object_id).values(archived=when, data=document))

    # --- reading the catalog --------------------------------------------------------------------------

    def get_dataset(self, ident: str) -> dict[str, Any] | None:
        """A dataset's document by its id or slug."""
        with self.store.begin() as conn:
            return conn.execute(
                select(datasets.c.data).where((datasets.c.id == ident) | (datasets.c.slug == ident))
            ).scalar()

    def list_datasets(self, source_id: str | None = None, offset: int = 0,
                      limit: int | None = None) -> list[dict[str, Any]]:
        """Datasets in the order they were created (of a source), a page of them with `offset` and `limit`."""
        return self._list(datasets, source_id, offset, limit)

    def count(self, source_id: str | None = None, kind: str = "dataset") -> int:
        table = dataservices if kind == "dataservice" else datasets
        return self.store.count(_documents_query(table, source_id))

    def get_dataservice(self, dataservice_id: str) -> dict[str, Any] | None:
        with self.store.begin() as conn:
            return conn.execute(select(dataservices.c.data).where(dataservices.c.id == dataservice_id)).scalar()

    def list_dataservices(self, source_id: str | None = None, offset: int = 0,
                          limit: int | None = None) -> list[dict[str, Any]]:
        return self._list(dataservices, source_id, offset, limit)

    def _list(self, table: Table, source_id: str | None, offset: int, limit: int | None) -> list[dict[str, Any]]:
        query = _documents_query(table, source_id).order_by(table.c.created_at, table.c.id)
        with self.store.begin() as conn:
            return list(conn.execute(query.offset(offset).limit(limit)).scalars())


def _documents_query(table: Table, source_id: str | None) -> Select[Any]:
    query = select(table.c.data)
    return query.where(table.c.source_id == source_id) if source_id else query


def _table(write: Write[Any]) -> Table:
    return dataservices if write.kind == "dataservice" else datasets


def _found(conn: Connection, table: Table, source_id: str, remote_ids: Sequence[str]) -> dict[str, str]:
    """The ids of the documents of these remote ids of the source, by remote id."""
    found: dict[str, str] = {}
    for chunk in chunks(list(remote_ids)):
        found |= dict(conn.execute(select(table.c.remote_id, table.c.id).where(
            table.c.source_id == source_id, table.c.remote_id.in_(chunk))).all())
    return found


def _held(table: Table) -> list[Column[Any]]:
    """What a document's update starts from: its row's id, document, dates (and slug)."""
    return [table.c.id, table.c.data, table.c.created_at, table.c.last_modified,
            *([table.c.slug] if table is datasets else [])]


def _rewritten(row: Row[Any], write: Write[Any], now: datetime) -> dict[str, Any]:
    """The document a write makes of the one a row holds (its resources keep their ids), modified `now`."""
    return _document(row.id, getattr(row, "slug", None), write, row.data.get("resources", []),
                     created_at=row.created_at, modified_at=now)


def _document(object_id: str, slug: str | None, write: Write[Any], previous_resources: list[dict[str, Any]], *,
              created_at: datetime, modified_at: datetime) -> dict[str, Any]:
    if write.kind == "dataservice":
        return dataservice_document(object_id, write, created_at=created_at, modified_at=modified_at)
    assert slug is not None
    return dataset_document(object_id, slug, write, previous_resources, created_at=created_at,
                            last_modified=modified_at, archived=None)
