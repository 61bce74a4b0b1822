"""The console's pages that only read: sources, a source, a job, a preview, the local catalog. Each shows what
the API answers, through the same functions (`present_source`, `summaries`, `detail`, `preview_run`, the store's
listings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, get_args

from fastapi import Query, Request, Response

from backends import registry
from harvesters.api import RuntimeDep, StoreDep, present_source, present_sources
from harvesters.clock import utcnow
from harvesters.console.chart import SLOTS, counts_chart
from harvesters.console.forms import SourceForm
from harvesters.console.i18n import language, translator
from harvesters.console.rendering import render, router
from harvesters.console.session import Operator, operator
from harvesters.errors import NotFound
from harvesters.job_views import detail, summaries
from harvesters.models import (
    FINISHED_JOB_STATUSES,
    HarvestError,
    HarvestItem,
    HarvestLog,
    HarvestSource,
    ItemStatus,
    JobStatus,
    ValidationState,
)
from harvesters.preview import CHANGE, HarvestItemPreview, preview_run
from harvesters.problems import group_problems
from harvesters.scheduler import next_due
from harvesters.store import ItemProblem, Store
from harvesters.targets.local import LocalCatalog
from harvesters.targets.local.tables import dataservices, datasets

PAGE_SIZE = 20
NEVER = "never"  # the status filter of sources that never ran
JOB_STATUSES = (*get_args(JobStatus), NEVER)
OUTCOMES = ("created", "updated", "unchanged", "archived", "skipped", "failed")

PageQuery = Annotated[int, Query(ge=1)]


def page_link(request: Request) -> Callable[[int], str]:
    return lambda number: str(request.url.include_query_params(page=number))


def next_run(source: HarvestSource, now: datetime) -> datetime | None:
    """When the scheduler runs the source next: only an active, accepted source with a schedule runs."""
    if not source.schedule or not source.active or source.deleted or source.validation.state != "accepted":
        return None
    return next_due(source.schedule, now)


def take_flash(request: Request) -> str | None:
    """The message a write left for the page it redirected to."""
    return request.session.pop("flash", None)


@dataclass(frozen=True)
class SourceRow:
    source: HarvestSource
    next_run: datetime | None


@dataclass(frozen=True)
class SourceFilters:
    q: str | None = None
    backend: str | None = None
    status: str | None = None
    validation: str | None = None

    def keep(self, source: HarvestSource) -> bool:
        """Whether the source fits the filters on its own fields (the status filter needs its last job)."""
        return ((not self.backend or source.backend == self.backend)
                and (not self.validation or source.validation.state == self.validation))


def last_status(store: Store, source_id: str) -> str:
    rows = store.list_job_rows(source_id, limit=1)
    return rows[0].status if rows else NEVER


@router.get("/")
def sources_page(request: Request, store: StoreDep, page: PageQuery = 1, q: str | None = None,
                 backend: str | None = None, status: str | None = None, validation: str | None = None) -> Response:
    """Every live source matching the search (as GET /sources/?q=) and the filters, a page at a time."""
    filters = SourceFilters(q or None, backend or None, status or None, validation or None)
    key, now = operator(request), utcnow()
    found = [source for source in store.list_sources(q=filters.q) if filters.keep(source)]
    if filters.status:
        found = [source for source in found if last_status(store, source.id) == filters.status]
    offset = (page - 1) * PAGE_SIZE
    rows = [SourceRow(row, next_run(row, now)) for row in present_sources(store, found[offset:offset + PAGE_SIZE], key)]
    return render(request, "sources.html", section="nav.sources", rows=rows, total=len(found), page=page,
                  size=PAGE_SIZE, link=page_link(request), filters=filters,
                  job_statuses=JOB_STATUSES,
                  backend_labels={name: backend.display_name for name, backend in registry().items()},
                  validation_states=get_args(ValidationState), message=take_flash(request))


@router.get("/sources/new")
def new_source_page(request: Request, backend: str | None = None) -> Response:
    return form_page(request, SourceForm.of_source(None, backend), None)


@router.get("/sources/{ident}")
def source_page(request: Request, store: StoreDep, ident: str, page: PageQuery = 1) -> Response:
    return show_source(request, store, ident, page)


def show_source(request: Request, store: Store, ident: str, page: int = 1, status: int = 200,
                **extra: Any) -> Response:
    """A source, its validation, its jobs (as GET /source/{ident}/jobs/) and the chart of their counts; `extra`
    for the validation form sent back with its refusal."""
    source = present_source(store, store.get_source(ident), operator(request))
    total = store.count_jobs(source.id)
    jobs = summaries(store, store.list_job_rows(source.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    recent = jobs if page == 1 and len(jobs) >= min(total, SLOTS) else \
        summaries(store, store.list_job_rows(source.id, limit=SLOTS))
    return render(request, "source.html", status, section="nav.sources", source=source,
                  next_run=next_run(source, utcnow()), jobs=jobs, total=total, page=page, size=PAGE_SIZE,
                  link=page_link(request), chart=counts_chart(recent[:SLOTS]), message=take_flash(request),
                  **extra)


@router.get("/jobs/{ident}")
def job_page(request: Request, store: StoreDep, ident: str, page: PageQuery = 1,
             status: ItemStatus | None = None) -> Response:
    """A job as GET /job/{ident}/ tells it (its problems grouped, its progress), its items filtered by status as
    GET /job/{ident}/items/?status= lists them."""
    job = detail(store, store.job_id(ident), page, PAGE_SIZE)
    items: list[HarvestItem] = job.items.data
    items_total = job.items.total
    if status:
        items_total = store.count_items(job.id, status)
        items = store.list_items(job.id, status, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    local, t = LocalCatalog(store), translator(language(request))
    return render(request, "job.html", status_labels={name: t(f"status.{name}") for name in get_args(JobStatus)},
                  item_labels={name: t(f"item.{name}") for name in get_args(ItemStatus)},
                  section="nav.sources", job=job, source=store.get_source(job.source),
                  finished=job.status in FINISHED_JOB_STATUSES,
                  items=items, items_total=items_total, item_status=status, item_statuses=get_args(ItemStatus),
                  local_datasets={item.dataset.id for item in items
                                  if item.dataset and local.get_dataset(item.dataset.id) is not None},
                  page=page, size=PAGE_SIZE, link=page_link(request), message=take_flash(request))


@dataclass
class PreviewEntry:
    item: HarvestItemPreview
    title: str | None
    changes: list[str] = field(default_factory=list)


def preview_outcome(item: HarvestItemPreview) -> str:
    """What the run would do with the item: its status, or for a done one created, updated (its logs tell the
    fields that would change) or unchanged (nothing would be written)."""
    if item.status != "done":
        return item.status if item.status in OUTCOMES else "failed"
    if any(log.message.startswith(CHANGE) for log in item.logs):
        return "updated"
    return "created" if item.dataset or item.dataservice else "unchanged"


def problems_of(item: HarvestItemPreview) -> list[HarvestError | HarvestLog]:
    """An item's errors, and its logs above info."""
    return [*item.errors, *(log for log in item.logs if log.level != "info")]


@router.get("/sources/{ident}/preview")
def preview_page(request: Request, runtime: RuntimeDep, key: Operator, ident: str) -> Response:
    """What a run would create, update (field by field) and archive: the API's preview, as a page."""
    source = runtime.store.get_source(ident)
    preview = preview_run(runtime, source)
    groups: dict[str, list[PreviewEntry]] = {outcome: [] for outcome in OUTCOMES}
    for item in preview.items:
        document = item.dataset or item.dataservice or {}
        changes = [log.message.removeprefix(CHANGE) for log in item.logs if log.message.startswith(CHANGE)]
        groups[preview_outcome(item)].append(PreviewEntry(item, document.get("title"), changes))
    problems = group_problems(ItemProblem(item.remote_id, item.status, entry.level, entry.message)
                              for item in preview.items
                              for entry in problems_of(item))
    return render(request, "preview.html", section="nav.sources", source=source, preview=preview, groups=groups,
                  outcomes=[outcome for outcome in OUTCOMES if groups[outcome] or outcome in OUTCOMES[:4]],
                  problems=problems, limit=runtime.config.preview_max_items)


@router.get("/sources/{ident}/delete")
def delete_page(request: Request, store: StoreDep, ident: str) -> Response:
    return render(request, "confirm_delete.html", section="nav.sources", source=store.get_source(ident))


def form_page(request: Request, form: SourceForm, source: HarvestSource | None,
              errors: dict[str, str] | None = None) -> Response:
    """The registration form (no `source`) or a source's edit form, with each field's refusal beside it."""
    title, action = ("form.edit_title", f"/sources/{source.id}/edit") if source else ("form.new_title", "/sources/new")
    return render(request, "source_form.html", 400 if errors else 200, section="nav.sources", title=title,
                  source=source,
                  action=action, cancel=f"/sources/{source.id}" if source else "/", backend=form.backend.to_json(),
                  backends=[backend.to_json() for backend in registry().values()], values=form.values,
                  filter_rows=form.rows(), errors=errors or {})


@router.get("/sources/{ident}/edit")
def edit_source_page(request: Request, store: StoreDep, ident: str, backend: str | None = None) -> Response:
    source = present_source(store, store.get_source(ident), operator(request))
    return form_page(request, SourceForm.of_source(source, backend), source)


# --- the local catalog -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """Datasets or data services: how the catalog lists them and what their pages say."""

    name: str
    path: str
    heading: str
    detail_column: str
    list_documents: Callable[[LocalCatalog, str | None, int, int], list[dict[str, Any]]]
    get_document: Callable[[LocalCatalog, str], dict[str, Any] | None]
    table: Any


KINDS = {
    "dataset": Kind("dataset", "/datasets/", "nav.datasets", "datasets.resources",
                    lambda catalog, source, offset, limit: catalog.list_datasets(source, offset=offset, limit=limit),
                    LocalCatalog.get_dataset, datasets),
    "dataservice": Kind("dataservice", "/dataservices/", "nav.dataservices", "datasets.endpoint",
                        lambda catalog, source, offset, limit: catalog.list_dataservices(source, offset, limit),
                        LocalCatalog.get_dataservice, dataservices),
}


def catalog_page(request: Request, store: Store, kind: Kind, page: int, source: str | None) -> Response:
    catalog = LocalCatalog(store)
    source_id = store.get_source(source).id if source else None
    documents = kind.list_documents(catalog, source_id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    sources = store.list_sources()
    return render(request, "datasets.html", section=kind.heading, heading=kind.heading, kind=kind.name,
                  detail_column=kind.detail_column, documents=documents, total=catalog.count(source_id, kind.name),
                  source_labels={source.id: source.name for source in sources}, source_id=source_id,
                  page=page, size=PAGE_SIZE,
                  link=page_link(request))


def document_page(request: Request, store: Store, kind: Kind, ident: str) -> Response:
    catalog = LocalCatalog(store)
    found = kind.get_document(catalog, store.complete_id(kind.table, ident, kind.name) or ident)
    if found is None:
        raise NotFound(f"No {kind.name} '{ident}' in the local catalog")
    try:
        source = store.get_source(found["harvest"]["source_id"])
    except (NotFound, KeyError, TypeError):
        source = None
    served = {ref["id"]: (catalog.get_dataset(ref["id"]) or {}).get("title") for ref in found.get("datasets", [])
              if isinstance(ref, dict)} if kind.name == "dataservice" else {}
    return render(request, "dataset.html", section=kind.heading, heading=kind.heading, kind=kind.name, d=found,
                  source=source, back=kind.path, served=served)


def add_catalog_pages(kind: Kind) -> None:
    """A kind's listing (`/datasets/`) and its documents' pages (`/datasets/{ident}`)."""

    def listing(request: Request, store: StoreDep, page: PageQuery = 1, source: str | None = None) -> Response:
        return catalog_page(request, store, kind, page, source or None)

    def document(request: Request, store: StoreDep, ident: str) -> Response:
        return document_page(request, store, kind, ident)

    router.add_api_route(kind.path, listing, methods=["GET"], name=f"{kind.name}s")
    router.add_api_route(kind.path + "{ident}", document, methods=["GET"], name=kind.name)


for catalog_kind in KINDS.values():
    add_catalog_pages(catalog_kind)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=next)
