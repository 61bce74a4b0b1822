"""Pages read again unchanged are recalled, not parsed: an unchanged re-run costs its downloads, not its parsing.

A gather remembers, for each page it reads, the hash of its content and the records it cut from it
(each with the hash of its data). Read again with the same content, a page whose records were all
harvested unchanged (each link's record hash is that of the same data, with the same mapping context)
is recalled: its records come back without their data and are settled `unchanged` without being
parsed or mapped. Any other page is parsed as usual. Previews recall but remember nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from backends.base import Record
from harvesters.store import Link, Store
from harvesters.store.pages import PageRead

CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
RECORD_FIELDS = ("remote_id", "remote_url", "data", "kind", "skip_reason")


def record_digest(record: dict[str, Any]) -> str:
    """The hash of a record's fields (as gathered, or as stored with its item)."""
    return hashlib.sha256(orjson.dumps([record.get(key) for key in RECORD_FIELDS], option=CANONICAL)).hexdigest()


def unchanged(link: Link | None, record_hash: str) -> bool:
    """Whether the link says this record (this hash) was harvested, and is still harvested, unchanged."""
    return (link is not None and link.archived_at is None and link.payload_hash is not None
            and link.record_hash == record_hash)


class PageRecall:
    """A job's memory of its source's pages (backends.base.PageMemory), in the store."""

    def __init__(self, store: Store, source_id: str, record_hash: Callable[[str], str], remember: bool) -> None:
        self.store = store
        self.source_id = source_id
        self.record_hash = record_hash  # a record digest, with the job's mapping context
        self.remembers = remember

    def recall(self, url: str, content: bytes) -> tuple[list[Record], dict[str, Any]] | None:
        read = self.store.page_read(self.source_id, url)
        if read is None or read.digest != hashlib.sha256(content).hexdigest():
            return None
        records = [Record(remote_id, remote_url, kind=kind, skip_reason=skip_reason, digest=digest)
                   for remote_id, remote_url, kind, skip_reason, digest in read.records]
        harvested = [record for record in records if not record.skip_reason]
        if any(record.kind != "dataset" for record in harvested):
            return None  # a data service depends on other links too: it is always mapped again
        links = self.store.links_of(self.source_id, [record.remote_id for record in harvested])
        if not all(unchanged(links.get(record.remote_id), self.record_hash(record.digest or ""))
                   for record in harvested):
            return None
        return records, read.notes

    def remember(self, url: str, content: bytes, records: list[Record], notes: dict[str, Any]) -> None:
        for record in records:
            record.digest = record.digest or record_digest(vars(record))
        if self.remembers:
            self.store.save_page_read(self.source_id, url, PageRead(
                hashlib.sha256(content).hexdigest(),
                [[record.remote_id, record.remote_url, record.kind, record.skip_reason, record.digest]
                 for record in records],
                notes,
            ))
