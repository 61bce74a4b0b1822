"""The SQL store: sources, jobs, items and the per-source links remote id -> dataset.

SQLite by default, any SQLAlchemy URL (PostgreSQL for several machines). One concept per module:
`schema` (tables, engine, upgrades), `sources`, `jobs` (records and claims), `items`, `links`,
`pages` (what a gather read), `slugs`. Methods return the documented pydantic models, or small typed rows for
the framework's own state (JobRow, ClaimedItem, Link...). Batch methods taking a `conn` join the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from harvesters.errors import NotFound
from harvesters.models import HarvestJob, HarvestSource
from harvesters.store.items import ClaimedItem, Items, NewItem, SettledItem
from harvesters.store.jobs import JobRow, Jobs
from harvesters.store.links import Link, Links, NewLink
from harvesters.store.pages import Pages
from harvesters.store.payloads import Payloads
from harvesters.store.prefixes import AmbiguousId, Prefixes
from harvesters.store.problems import ItemProblem, Problems
from harvesters.store.schema import sources as sources_table
from harvesters.store.sources import ScheduledSource, Sources

ITEMS_CHUNK = 500

__all__ = ["AmbiguousId", "ClaimedItem", "ItemProblem", "JobRow", "Link", "NewItem", "NewLink", "ScheduledSource",
           "SettledItem", "Store"]


class Store(Sources, Jobs, Items, Links, Pages, Payloads, Prefixes, Problems):
    """Every part of the store on one engine."""

    def get_source(self, ident: str, with_last_job: bool = False) -> HarvestSource:
        """A source by id, slug or name, or a unique start of its id (with its last job, if asked)."""
        try:
            source = super().get_source(ident)
        except NotFound:
            if (full := self.complete_id(sources_table, ident, "source")) is None:
                raise
            source = super().get_source(full)
        if with_last_job:
            source.last_job = self.last_job(source.id)
        return source

    def get_job(self, job_id: str, with_items: bool = True) -> HarvestJob:
        job = self.job_row(job_id).to_model()
        if with_items:
            job.items = self.list_items(job_id)
        return job

    def last_job(self, source_id: str) -> HarvestJob | None:
        found = self.last_job_rows([source_id]).get(source_id)
        return self.get_job(found.id) if found else None

    def job_json(self, job_id: str) -> Iterator[str]:
        """The job with all its items in udata's JSON shape, written a chunk of items at a time (a big job
        never sits in memory). An unknown job raises NotFound at once, before anything is written."""
        job = self.get_job(job_id, with_items=False).to_json()
        head = json.dumps({key: value for key, value in job.items() if key != "items"} | {"items": []})
        return self._job_chunks(job_id, head[: -len("[]}")] + "[")

    def _job_chunks(self, job_id: str, head: str) -> Iterator[str]:
        yield head
        offset = 0
        while batch := self.list_items(job_id, offset=offset, limit=ITEMS_CHUNK):
            yield ("," if offset else "") + ",".join(json.dumps(item.to_json()) for item in batch)
            offset += len(batch)
        yield "]}"
