"""Pages a gather read: what each URL of a source held last time (see harvesters/recall.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from harvesters.clock import utcnow
from harvesters.store.database import Database, upsert
from harvesters.store.schema import pages


@dataclass(frozen=True, slots=True)
class PageRead:
    digest: str  # of the page's content
    records: list[list[Any]]  # [remote_id, remote_url, kind, skip_reason, digest] of each record cut from it
    notes: dict[str, Any]  # what the backend noted of the page (its links to the next ones...)


class Pages(Database):
    def page_read(self, source_id: str, url: str) -> PageRead | None:
        with self.begin() as conn:
            row = conn.execute(select(pages.c.digest, pages.c.records, pages.c.notes).where(
                pages.c.source_id == source_id, pages.c.url == url)).first()
        return PageRead(*row) if row else None

    def save_page_read(self, source_id: str, url: str, read: PageRead) -> None:
        with self.begin() as conn:
            upsert(conn, pages, [{"source_id": source_id, "url": url, "digest": read.digest, "records": read.records,
                                  "notes": read.notes, "read_at": utcnow()}],
                   updated=("digest", "records", "notes", "read_at"))
