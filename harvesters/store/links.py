"""Links, per source: which dataset (or data service) a remote id was written to, and the hash of what was
written, so that an unchanged record costs no write and a vanished one can be archived."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from harvesters.clock import utcnow
from harvesters.store.database import Database, chunks, upsert
from harvesters.store.schema import items, links


@dataclass(frozen=True, slots=True)
class Link:
    source_id: str
    remote_id: str
    dataset_id: str  # the id of a dataset, or of a data service (`kind`)
    payload_hash: str | None
    last_seen: datetime
    archived_at: datetime | None
    kind: Literal["dataset", "dataservice"]
    record_hash: str | None = None
    summary: dict[str, Any] | None = None  # {"title", "logs", "shape"} of the last mapping of that record
    uri: str | None = None  # the dataset's URI upstream, where it is not its remote id


@dataclass(frozen=True, slots=True)
class NewLink:
    """What a write leaves behind: the remote id's dataset now, the hash of what was written, and the hash
    and summary of the record it was mapped from."""

    remote_id: str
    dataset_id: str
    payload_hash: str | None
    kind: str = "dataset"
    record_hash: str | None = None
    summary: dict[str, Any] | None = None
    uri: str | None = None


LINKS_OF = select(links).where(links.c.source_id == bindparam("source_id"),
                               links.c.remote_id.in_(bindparam("keys", expanding=True)))
# by URI: rare (a data service naming a dataset of another page), so without an index of its own
LINKS_OF_URIS = select(links).where(links.c.source_id == bindparam("source_id"),
                                    links.c.uri.in_(bindparam("keys", expanding=True)))
TOUCH = (update(links).where(links.c.source_id == bindparam("b_source"),
                             links.c.remote_id.in_(bindparam("b_remotes", expanding=True)))
         .values(last_seen=bindparam("now")))


class Links(Database):
    def get_link(self, source_id: str, remote_id: str) -> Link | None:
        return self.links_of(source_id, [remote_id]).get(remote_id)

    def links_of(self, source_id: str, remote_ids: Collection[str]) -> dict[str, Link]:
        """The links of these remote ids of the source, by remote id (one query per 500)."""
        return self._links_by(LINKS_OF, source_id, remote_ids, lambda link: link.remote_id)

    def links_of_uris(self, source_id: str, uris: Collection[str]) -> dict[str, Link]:
        """The links of the source's datasets known upstream by these URIs (that are not their remote ids)."""
        return self._links_by(LINKS_OF_URIS, source_id, uris, lambda link: link.uri or "")

    def _links_by(self, query: Select[Any], source_id: str, keys: Collection[str],
                  key: Callable[[Link], str]) -> dict[str, Link]:
        found: dict[str, Link] = {}
        with self.begin() as conn:
            for chunk in chunks(sorted(set(keys))):
                found |= {key(link): link for link in (Link(*row) for row in conn.execute(
                    query, {"source_id": source_id, "keys": list(chunk)}))}
        return found

    def links_of_sources(self, source_ids: Collection[str], remote_ids: Collection[str]) -> dict[str, Link]:
        """The links these sources have for these remote ids (archived or not), by remote id (the first source's
        when several have one)."""
        found: dict[str, Link] = {}
        with self.begin() as conn:
            for chunk in chunks(sorted(set(remote_ids))):
                for row in conn.execute(select(links).where(links.c.source_id.in_(sorted(source_ids)),
                                                            links.c.remote_id.in_(chunk))
                                        .order_by(links.c.source_id)):
                    found.setdefault(row.remote_id, Link(*row))
        return found

    def save_links(self, conn: Connection, source_id: str, saved: Sequence[NewLink]) -> None:
        """Insert or update these links (not archived, seen now) in one statement, in the caller's transaction."""
        now = utcnow()
        upsert(conn, links, [
            {"source_id": source_id, "remote_id": link.remote_id, "dataset_id": link.dataset_id,
             "payload_hash": link.payload_hash, "last_seen": now, "archived_at": None, "kind": link.kind,
             "record_hash": link.record_hash, "summary": link.summary, "uri": link.uri}
            for link in saved
        ], updated=("dataset_id", "payload_hash", "last_seen", "archived_at", "kind", "record_hash", "summary",
                    "uri"))

    def save_link(self, source_id: str, remote_id: str, dataset_id: str, payload_hash: str | None,
                  kind: str = "dataset") -> None:
        with self.begin() as conn:
            self.save_links(conn, source_id, [NewLink(remote_id, dataset_id, payload_hash, kind)])

    def touch_links(self, conn: Connection, source_id: str, remote_ids: Sequence[str]) -> None:
        """These remote ids were seen now (unchanged), in the caller's transaction."""
        for chunk in chunks(remote_ids):
            conn.execute(TOUCH, {"b_source": source_id, "b_remotes": list(chunk), "now": utcnow()})

    def archive_link(self, source_id: str, remote_id: str) -> None:
        with self.begin() as conn:
            conn.execute(update(links).where(links.c.source_id == source_id, links.c.remote_id == remote_id)
                         .values(archived_at=utcnow(), payload_hash=None, record_hash=None))

    def active_links(self, source_id: str) -> list[Link]:
        """The source's links to datasets not archived."""
        with self.begin() as conn:
            return [Link(*row) for row in conn.execute(
                select(links).where(links.c.source_id == source_id, links.c.archived_at.is_(None))
                .order_by(links.c.remote_id)
            )]

    def count_active_links(self, source_id: str) -> int:
        with self.begin() as conn:
            return conn.execute(
                select(func.count()).where(links.c.source_id == source_id, links.c.archived_at.is_(None))
            ).scalar_one()

    def vanished_links(self, source_id: str, job_id: str, seen_before: datetime) -> list[Link]:
        """Active links of a source that this job did not see, last seen before `seen_before`."""
        seen = select(items.c.remote_id).where(items.c.job_id == job_id)
        with self.begin() as conn:
            return [Link(*row) for row in conn.execute(
                select(links).where(
                    links.c.source_id == source_id,
                    links.c.archived_at.is_(None),
                    links.c.last_seen < seen_before,
                    links.c.remote_id.not_in(seen),
                ).order_by(links.c.remote_id)
            )]
