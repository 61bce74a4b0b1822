"""Jobs as operators read them: in a listing, each with its item counts by status (udata's newer job shape) and
its progress while it runs; on its own, a page of its items, their counts, its item problems grouped by message
and its progress. The command line and the HTTP API show the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from harvesters.clock import utcnow
from harvesters.models import HarvestJobDetail, HarvestJobSummary, ItemsPage, JobProgress
from harvesters.problems import group_problems
from harvesters.progress import job_progress
from harvesters.store import JobRow, Store

MAX_PROBLEM_GROUPS = 100  # shown on a job's page; `harvest job errors` and GET .../errors/ export them all

PageLink = Callable[[int], str]


def summaries(store: Store, rows: Sequence[JobRow]) -> list[HarvestJobSummary]:
    """The jobs with their item counts (one query for all of them) and progress."""
    counts = store.item_counts([row.id for row in rows])
    now = utcnow()
    return [summary(row, counts[row.id], job_progress(row, counts[row.id], now)) for row in rows]


def summary(row: JobRow, counts: dict[str, int], progress: JobProgress | None) -> HarvestJobSummary:
    return HarvestJobSummary(**row.fields(), items={"total": sum(counts.values()), "by_status": counts},
                             progress=progress)


def last_job_summaries(store: Store, source_ids: Collection[str]) -> dict[str, HarvestJobSummary]:
    """The last job of each of these sources that has one, with its item counts, by source id (two queries,
    however many sources)."""
    rows = store.last_job_rows(source_ids)
    return dict(zip(rows, summaries(store, list(rows.values())), strict=True))


def last_job_summary(store: Store, source_id: str) -> HarvestJobSummary | None:
    return last_job_summaries(store, [source_id]).get(source_id)


def detail(store: Store, job_id: str, page: int, page_size: int, link: PageLink | None = None) -> HarvestJobDetail:
    """The job with one page of its items (in the order they were gathered); `link(n)` is page n's URL."""
    row = store.job_row(job_id)
    counts = store.item_counts([row.id])[row.id]
    total = sum(counts.values())
    offset = (page - 1) * page_size
    data = store.list_items(row.id, offset=offset, limit=page_size) if offset < total else []
    items = ItemsPage(total=total, by_status=counts, data=data, page=page, page_size=page_size,
                      next_page=link(page + 1) if link and page * page_size < total else None,
                      previous_page=link(page - 1) if link and page > 1 else None)
    problems = group_problems(store.item_problems(row.id))
    return HarvestJobDetail(**row.fields(), items=items, problems=problems[:MAX_PROBLEM_GROUPS],
                            progress=job_progress(row, counts, utcnow()))
