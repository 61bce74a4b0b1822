"""The operator HTTP API: udata's documented harvest endpoints, under /api/1/harvest/ (FastAPI).

Same paths, parameters and JSON shapes as udata, so a tool written for udata's harvest API works here.
Reads are public (secret config values are never returned); every write needs a key in `X-API-KEY`,
created with `harvest apikey create NAME`. Errors are JSON: `{"message", "status"}`, plus
`{"errors": {field: [messages]}}` when a request does not fit the schema.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Generic, Literal, ParamSpec, TypeVar, get_type_hints

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from backends import registry
from backends.base import ConfigError
from harvesters.api_bodies import BoundedBodies
from harvesters.api_docs import install_docs
from harvesters.apikeys import ApiKey, ApiKeys
from harvesters.cancel import cancel_job
from harvesters.errors import DuplicateSource, NotFound, NotLaunchable, Refused, Unavailable
from harvesters.infrastructure import explain
from harvesters.job_views import detail, last_job_summaries, summaries
from harvesters.metrics import CONTENT_TYPE, render
from harvesters.models import (
    HarvestItem,
    HarvestJobDetail,
    HarvestJobSummary,
    HarvestSource,
    ItemStatus,
    Notifications,
    SourcePermissions,
    UserRef,
)
from harvesters.preview import HarvestJobPreview, preview_run
from harvesters.problems import csv_export, json_export
from harvesters.queue import launch, redis_connection
from harvesters.runtime import Runtime
from harvesters.settings import settings
from harvesters.sources import (
    MAX_LENGTHS,
    change_source,
    check_api_url,
    check_notifications,
    check_schedule,
    delete_source,
    mask_secrets,
    register_source,
    validate_source,
)
from harvesters.store import Store

PREFIX = "/api/1/harvest"
PREVIEWS = CapacityLimiter(4)  # previews at once (each reads a remote catalog), apart from the other requests' threads
MAX_PAGE_SIZE = 100
T = TypeVar("T")
P = ParamSpec("P")


# --- errors --------------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ErrorBody(BaseModel):
    message: str
    status: int
    errors: dict[str, list[str]] | None = None


ERROR_DESCRIPTIONS = {
    400: "Invalid request: the message (and `errors`) name the field",
    401: "No API key in the X-API-KEY header",
    403: "The API key is invalid or revoked",
    404: "No such source or job",
    409: "A job is already running for this source, or the job has already ended",
    413: "The request body is larger than HARVEST_API_MAX_BODY_BYTES (1 MB by default)",
    503: "The store or the job queue (Redis) is unreachable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in (400, *statuses)}


WRITE_ERRORS = errors(401, 403, 404, 413)


class ExportedProblem(BaseModel):
    remote_id: str
    status: str
    level: str
    message: str


EXPORT_CONTENT: dict[int | str, dict[str, Any]] = {200: {
    "description": "Every item problem, as JSON (an array) or CSV",
    "content": {"application/json": {"schema": {"type": "array", "items": ExportedProblem.model_json_schema()}},
                "text/csv": {"schema": {"type": "string"}}},
}}
PUBLIC: dict[str, Any] = {"security": [{}]}  # added to the key requirement: reads work without a key


def error_response(status: int, message: str, fields: dict[str, list[str]] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(message=message, status=status, errors=fields).model_dump(exclude_none=True),
                        status_code=status)


def invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields: dict[str, list[str]] = {}
    for problem in error.errors():
        location = [str(part) for part in problem["loc"][1:]] or [str(problem["loc"][0])]
        fields.setdefault(".".join(location), []).append(problem["msg"])
    message = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in fields.items())
    return error_response(400, f"Invalid request: {message}", fields)


STATUS_OF: dict[type[Exception], int] = {ConfigError: 400, NotLaunchable: 400, DuplicateSource: 400, NotFound: 404,
                                         Refused: 409, RedisError: 503, Unavailable: 503, OperationalError: 503}


def known_error(_: Request, error: Exception) -> JSONResponse:
    """The framework's refusals, as JSON errors with their status."""
    if isinstance(error, ApiError):
        return error_response(error.status, str(error))
    status = next(STATUS_OF[kind] for kind in type(error).__mro__ if kind in STATUS_OF)
    return error_response(status, explain(error) or str(error))


def http_error(_: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method) in the same JSON shape."""
    assert isinstance(error, StarletteHTTPException)
    return error_response(error.status_code, str(error.detail))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    handled: tuple[type[Exception], ...] = (ApiError, *STATUS_OF)
    for kind in handled:
        app.add_exception_handler(kind, known_error)


# --- request and response bodies ---------------------------------------------------------------------------


class Ref(BaseModel):
    """An organization or user as udata sends it: an object with at least an id (other keys are ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=64)


READ_ONLY_KEYS = frozenset({"id", "slug", "created_at", "deleted", "last_job", "permissions", "validation"})


class SourceChange(BaseModel):
    """The fields of a source a client may set; omitted fields are unchanged, null empties an optional one.

    Read-only keys of the source shape (id, created_at, last_job...) are accepted and ignored, so a source
    read with GET can be sent back with PUT; any other unknown key is refused.
    """

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(None, min_length=1, max_length=MAX_LENGTHS["name"])
    url: str | None = Field(None, max_length=MAX_LENGTHS["url"], description="The catalog URL (http or https)")
    backend: str | None = Field(None, max_length=MAX_LENGTHS["backend"], description="A backend id, see GET /backends/")
    description: str | None = Field(None, max_length=MAX_LENGTHS["description"])
    config: dict[str, Any] | None = Field(None, description="{filters, features, extra_configs}")
    active: bool | None = None
    autoarchive: bool | None = None
    organization: Ref | Annotated[str, Field(min_length=1, max_length=64)] | None = None
    owner: Ref | Annotated[str, Field(min_length=1, max_length=64)] | None = None
    schedule: str | None = Field(None, max_length=MAX_LENGTHS["schedule"],
                                 description="A cron expression or @hourly, @daily, @weekly, @monthly")
    notifications: Notifications | None = Field(
        None, description="Emails and/or a webhook notified when a job fails or ends with errors (`on: error`) or "
                          "whenever one ends (`on: always`)")

    @model_validator(mode="before")
    @classmethod
    def _ignore_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in READ_ONLY_KEYS}
        return data

    def values(self) -> dict[str, Any]:
        """The fields sent with a value, organization and owner as ids."""
        values = {key: getattr(self, key) for key in self.model_fields_set if getattr(self, key) is not None}
        for key in ("organization", "owner"):
            if isinstance(values.get(key), Ref):
                values[key] = values[key].id
        allow_private = settings().allow_private_addresses
        if "url" in values:
            values["url"] = check_api_url(values["url"], allow_private)
        if "notifications" in values:
            values["notifications"] = check_notifications(values["notifications"], api=True,
                                                          allow_private=allow_private)
        return values

    def cleared(self) -> list[str]:
        return sorted(key for key in self.model_fields_set if getattr(self, key) is None)


class SourceCreate(SourceChange):
    name: str = Field(min_length=1, max_length=MAX_LENGTHS["name"])
    url: str = Field(max_length=MAX_LENGTHS["url"], description="The catalog URL (http or https)")
    backend: str = Field(max_length=MAX_LENGTHS["backend"], description="A backend id, see GET /backends/")


class ValidationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    state: Literal["accepted", "refused"]
    comment: str | None = Field(None, max_length=MAX_LENGTHS["description"], description="Why; required on refusal")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_page: str | None
    page: int
    page_size: int
    previous_page: str | None
    total: int


class OptionInfo(BaseModel):
    key: str
    label: str
    type: str
    description: str
    default: Any
    secret: bool


class BackendInfo(BaseModel):
    id: str
    label: str
    filters: list[OptionInfo]
    features: list[OptionInfo]
    extra_configs: list[OptionInfo]


# --- dependencies ------------------------------------------------------------------------------------------

api_key_header = APIKeyHeader(name="X-API-KEY", auto_error=False,
                              description="A key made with `harvest apikey create NAME`; needed by every write")


# Dependencies that do no I/O are coroutines: FastAPI runs a plain function in a thread, a hop per dependency.


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_store(request: Request) -> Store:
    return request.app.state.runtime.store


def authenticated(keys: ApiKeys, key: str | None) -> ApiKey | None:
    """The key presented, if any; a wrong or revoked key is refused (403)."""
    if key is None:
        return None
    found = keys.check(key)
    if found is None:
        raise ApiError(403, "Invalid API key")
    if found.revoked_at is not None:
        raise ApiError(403, f"The API key '{found.name}' was revoked")
    return found


async def caller(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> ApiKey | None:
    """The key presented, if any (checked in a thread: it reads the store); a wrong or revoked key is refused even
    on a read."""
    if key is None:
        return None
    return await run_in_threadpool(authenticated, request.app.state.keys, key)


def query_names(dependant: Dependant) -> Iterator[str]:
    """The query parameters an operation takes, its dependencies' included."""
    yield from (field.alias for field in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from query_names(dependency)


TAKEN: dict[Callable[..., Any], frozenset[str]] = {}  # the query parameters of each operation, by its endpoint


async def known_query(request: Request) -> None:
    """Refuse a query parameter the operation does not take (400 naming it): a misspelt `?forse=true` or
    `?page_sise=` would otherwise be ignored without a word."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.scope["query_string"]:
        return
    if (taken := TAKEN.get(route.endpoint)) is None:
        taken = TAKEN[route.endpoint] = frozenset(query_names(route.dependant))
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        raise ApiError(400, f"Unknown query parameter '{unknown[0]}'"
                       + (f" (this operation takes {', '.join(sorted(taken))})" if taken else ""))


def required(key: ApiKey | None) -> ApiKey:
    if key is None:
        raise ApiError(401, "This operation needs an API key in the X-API-KEY header")
    return key


async def writer(key: Annotated[ApiKey | None, Depends(caller)]) -> ApiKey:
    return required(key)


def refused_write(keys: ApiKeys, headers: Headers) -> Response | None:
    """Before a write's body is read (api_bodies.py): the error answering it when its key is missing or wrong."""
    try:
        required(authenticated(keys, headers.get(api_key_header.model.name)))
    except ApiError as error:
        return error_response(error.status, str(error))
    return None


async def paging(
    page: Annotated[int, Query(ge=1, description="The page to display")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="The page size")] = 20,
) -> tuple[int, int]:
    return page, page_size


StoreDep = Annotated[Store, Depends(get_store)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Caller = Annotated[ApiKey | None, Depends(caller)]
Writer = Annotated[ApiKey, Depends(writer)]
Paging = Annotated[tuple[int, int], Depends(paging)]


# --- helpers ---------------------------------------------------------------------------------------------


def present_source(store: Store, source: HarvestSource, key: ApiKey | None) -> HarvestSource:
    """A source as returned: secrets masked, its last job (its item counts), what the caller may do."""
    return present_sources(store, [source], key)[0]


def present_sources(store: Store, found: list[HarvestSource], key: ApiKey | None) -> list[HarvestSource]:
    """Sources as returned, their last jobs and those jobs' item counts read in two queries."""
    last = last_job_summaries(store, [source.id for source in found])
    allowed = key is not None
    permissions = SourcePermissions(delete=allowed, edit=allowed, preview=allowed, run=allowed, schedule=allowed,
                                    validate_=allowed)
    return [mask_secrets(source).model_copy(update={"last_job": last.get(source.id), "permissions": permissions})
            for source in found]


def page_of(request: Request, data: list[T], total: int, paged: tuple[int, int]) -> Page[T]:
    page, size = paged

    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number, page_size=size))

    return Page(data=data, total=total, page=page, page_size=size,
                next_page=link(page + 1) if page * size < total else None,
                previous_page=link(page - 1) if page > 1 else None)


def answered_from_a_thread(operation: Callable[P, Any]) -> Callable[P, Awaitable[Response]]:
    """An operation that reads the store, run in a thread with its result made into JSON there as FastAPI would
    (its return type, by alias): one hop to a thread a request, where FastAPI hops a second time to validate the
    result once more. FastAPI still reads the parameters and the documented answer from `operation`."""
    adapter: TypeAdapter[Any] = TypeAdapter(get_type_hints(operation)["return"])

    @functools.wraps(operation)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        body = await run_in_threadpool(lambda: adapter.dump_json(operation(*args, **kwargs), by_alias=True))
        return Response(body, media_type="application/json")

    return answer


def offset_of(paged: tuple[int, int], total: int) -> int | None:
    """The first row of the page, or None when the page is past the end."""
    offset = (paged[0] - 1) * paged[1]
    return offset if offset < total else None


# --- routes ----------------------------------------------------------------------------------------------

router = APIRouter(tags=["harvest"], dependencies=[Depends(known_query)])


@router.get("/sources/", response_model=Page[HarvestSource], responses=errors(403), openapi_extra=PUBLIC)
@answered_from_a_thread
def list_sources(
    request: Request, store: StoreDep, key: Caller, paged: Paging,
    q: Annotated[str | None, Query(description="Searched in the name and URL")] = None,
    owner: Annotated[str | None, Query(description="The organization or user ID to filter on")] = None,
    deleted: Annotated[bool, Query(description="Include sources flagged as deleted")] = False,
) -> Page[HarvestSource]:
    """List harvest sources."""
    total = store.count_sources(deleted, q, owner)
    offset = offset_of(paged, total)
    found = [] if offset is None else store.list_sources(deleted, q, owner, offset=offset, limit=paged[1])
    return page_of(request, present_sources(store, found, key), total, paged)


ForceQuery = Annotated[bool, Query(description="Register it even when another source harvests the same catalog "
                                               "(same URL once normalised, same backend)")]


@router.post("/sources/", status_code=201, response_model=HarvestSource, responses=errors(401, 403, 413))
def create_source(store: StoreDep, key: Writer, body: SourceCreate, force: ForceQuery = False) -> HarvestSource:
    """Register a harvest source; its config is checked against its backend. A second source on a catalog
    another one harvests is refused (400, naming it) unless `force`."""
    return present_source(store, register_source(store, force=force, **body.values()), key)


@router.get("/source/{ident}/", response_model=HarvestSource, responses=errors(403, 404), openapi_extra=PUBLIC)
@answered_from_a_thread
def get_source(store: StoreDep, key: Caller, ident: str) -> HarvestSource:
    """A source by id or slug (a deleted source stays readable, with its `deleted` date)."""
    return present_source(store, store.get_source(ident), key)


@router.put("/source/{ident}/", response_model=HarvestSource, responses=WRITE_ERRORS)
def update_source(store: StoreDep, key: Writer, ident: str, body: SourceChange, force: ForceQuery = False
                  ) -> HarvestSource:
    """Change a source: only the fields sent change; masked secrets sent back keep their stored value."""
    return present_source(store, change_source(store, ident, clear=body.cleared(), force=force, **body.values()), key)


@router.delete("/source/{ident}/", status_code=204, response_class=Response, responses=WRITE_ERRORS)
def remove_source(store: StoreDep, key: Writer, ident: str) -> None:
    """Mark a source deleted; its jobs and harvested datasets are kept."""
    if store.get_source(ident).deleted is None:
        delete_source(store, ident)


@router.post("/source/{ident}/validate/", response_model=HarvestSource, responses=WRITE_ERRORS)
def validate(store: StoreDep, key: Writer, ident: str, body: ValidationBody) -> HarvestSource:
    """Accept or refuse a source (a refusal needs a comment); only accepted sources run on their schedule."""
    by = UserRef(id=key.id, first_name=key.name)
    return present_source(store, validate_source(store, ident, body.state, body.comment, by), key)


@router.post("/source/{ident}/run/", response_model=HarvestSource, responses=errors(401, 403, 404, 409, 503))
def run_source(store: StoreDep, key: Writer, ident: str) -> HarvestSource:
    """Launch a job now (on the workers with HARVEST_REDIS_URL, else in this server); the source's `last_job`
    is that job: follow it with GET /job/{id}/. Any active source may run, validated or not."""
    source = store.get_source(ident)
    launch(store, source.id)
    return present_source(store, source, key)


@router.get("/source/{ident}/preview/", response_model=HarvestJobPreview, responses=WRITE_ERRORS)
async def preview_source(runtime: RuntimeDep, key: Writer, ident: str) -> HarvestJobPreview:
    """A dry run on the first records of the catalog (HARVEST_PREVIEW_MAX_ITEMS), nothing written: each item with
    the full dataset it would write (udata's preview shape) and, for an update, its logs say what changes."""
    return await to_thread.run_sync(lambda: preview_run(runtime, runtime.store.get_source(ident)), limiter=PREVIEWS)


@router.post("/source/{ident}/schedule/", response_model=HarvestSource, responses=WRITE_ERRORS)
def schedule_source(
    store: StoreDep, key: Writer, ident: str,
    cron: Annotated[str, Body(description="A cron expression (JSON string or plain text) or an alias like @daily")],
) -> HarvestSource:
    """Schedule a source."""
    if check_schedule(cron) is None:
        raise ApiError(400, "Invalid schedule: a cron expression is required (DELETE to unschedule)")
    return present_source(store, change_source(store, ident, schedule=cron), key)


@router.delete("/source/{ident}/schedule/", status_code=204, response_class=Response, responses=WRITE_ERRORS)
def unschedule_source(store: StoreDep, key: Writer, ident: str) -> None:
    """Remove a source's schedule."""
    change_source(store, ident, clear=["schedule"])


@router.get("/source/{ident}/jobs/", response_model=Page[HarvestJobSummary], responses=errors(403, 404),
            openapi_extra=PUBLIC)
@answered_from_a_thread
def list_jobs(request: Request, store: StoreDep, key: Caller, ident: str, paged: Paging) -> Page[HarvestJobSummary]:
    """A source's jobs, newest first, each with its item counts by status and, while it runs, its progress (its
    items: GET /job/{ident}/)."""
    source = store.get_source(ident)
    total = store.count_jobs(source.id)
    offset = offset_of(paged, total)
    found = [] if offset is None else store.list_job_rows(source.id, limit=paged[1], offset=offset)
    return page_of(request, summaries(store, found), total, paged)


@router.get("/job/{ident}/", response_model=HarvestJobDetail, responses=errors(403, 404), openapi_extra=PUBLIC)
@answered_from_a_thread
def get_job(request: Request, store: StoreDep, key: Caller, ident: str, paged: Paging) -> HarvestJobDetail:
    """A job (by its id or a unique start of it): its errors, a page of its items with their counts by status,
    its item problems grouped by message, and its progress while it runs."""
    page, size = paged
    return detail(store, store.job_id(ident), page, size,
                  lambda number: str(request.url.include_query_params(page=number, page_size=size)))


@router.post("/job/{ident}/cancel/", response_model=HarvestJobSummary, responses=errors(401, 403, 404, 409))
def cancel(runtime: RuntimeDep, key: Writer, ident: str) -> HarvestJobSummary:
    """Cancel a pending or running job: it ends `failed` with a "Cancelled" error, its workers stop at their next
    item, and its source may run again at once (409 when it has already ended)."""
    store = runtime.store
    job_id = store.job_id(ident)
    cancel_job(runtime, job_id, f"by API key '{key.name}'")
    return summaries(store, [store.job_row(job_id)])[0]


@router.get("/job/{ident}/errors/", responses=errors(403, 404) | EXPORT_CONTENT, openapi_extra=PUBLIC,
            response_class=StreamingResponse)
def export_errors(
    store: StoreDep, key: Caller, ident: str,
    format: Annotated[Literal["json", "csv"], Query(description="csv: a header line, then one row a problem")] = "json",
) -> StreamingResponse:
    """Every problem of the job's items (each error and warning): remote_id, status, level, message."""
    job_id = store.job_id(ident)
    if format == "csv":
        return StreamingResponse(csv_export(store.item_problems(job_id)), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="job-{job_id}-errors.csv"'})
    return StreamingResponse(json_export(store.item_problems(job_id)), media_type="application/json")


@router.get("/job/{ident}/items/", response_model=Page[HarvestItem], responses=errors(403, 404), openapi_extra=PUBLIC)
@answered_from_a_thread
def list_items(
    request: Request, store: StoreDep, key: Caller, ident: str, paged: Paging,
    status: Annotated[ItemStatus | None, Query(description="Only the items with this status")] = None,
) -> Page[HarvestItem]:
    """A job's items in the order they were gathered, page by page."""
    job_id = store.job_id(ident)
    total = store.count_items(job_id, status)
    offset = offset_of(paged, total)
    found = [] if offset is None else store.list_items(job_id, status, offset=offset, limit=paged[1])
    return page_of(request, found, total, paged)


@router.get("/backends/", response_model=list[BackendInfo], responses=errors(403), openapi_extra=PUBLIC)
def list_backends(key: Caller) -> list[dict[str, Any]]:
    """The installed backends, with the filters, features and extra configs a source may set."""
    return [backend.to_json() for backend in registry().values()]


# --- operations: health and metrics (outside udata's API) -------------------------------------------------

operations = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    store: str
    redis: str


@operations.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """Whether the store and Redis (when configured) answer: 200, else 503 saying which does not."""
    store_state, redis_state = "ok", "ok" if settings().redis_url else "not configured (jobs run inline)"
    try:
        with runtime.store.begin() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the store is what this endpoint reports
        store_state = explain(error) or str(error)
    if redis_state == "ok":
        try:
            redis_connection().ping()
        except RedisError as error:
            redis_state = explain(error) or str(error)
    healthy = store_state == "ok" and not redis_state.startswith("Redis is")
    body = Health(status="ok" if healthy else "unavailable", store=store_state, redis=redis_state)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@operations.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
def metrics(runtime: RuntimeDep) -> Response:
    """Metrics in the Prometheus text format (see harvesters/metrics.py)."""
    return Response(render(runtime.store, settings()), media_type=CONTENT_TYPE)


# --- the application -------------------------------------------------------------------------------------


@asynccontextmanager
async def few_threads(app: FastAPI) -> AsyncIterator[None]:
    """Requests run in HARVEST_API_THREADS threads (2), not anyio's 40: the store's queries hold the interpreter,
    and more threads only take turns on it, handing it over at every row SQLite reads: with 8 threads a listing
    took twice the CPU of one with 1 or 2 (benchmarks/listings_benchmark.py), and two let one slow request not hold
    up the others. Previews, which read a remote catalog for seconds, run in threads of their own
    (PREVIEWS_AT_ONCE), never holding those."""
    to_thread.current_default_thread_limiter().total_tokens = app.state.runtime.config.api_threads
    yield


def create_app(store: Store | None = None) -> FastAPI:
    """The API under /api/1/harvest/ (its docs at .../docs and .../redoc, served locally), /healthz, /metrics,
    and the web console at / (harvesters/console/)."""
    from harvesters.console import install_console  # imported here: the console imports this module

    app = FastAPI(title="udata harvesters", version="1", description=__doc__,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None, lifespan=few_threads)
    app.state.runtime = Runtime.from_environment(store)
    app.state.keys = ApiKeys(app.state.runtime.store)
    app.include_router(router, prefix=PREFIX)
    app.include_router(operations)
    install_docs(app, f"{PREFIX}/docs", f"{PREFIX}/redoc")
    install_console(app, app.state.runtime.config)
    install_error_handlers(app)
    app.add_middleware(BoundedBodies, max_bytes=app.state.runtime.config.api_max_body_bytes, keyed=PREFIX,
                       authenticate=lambda headers: refused_write(app.state.keys, headers), refuse=error_response)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with its 422 answers replaced by our 400 (what invalid requests really get)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema["paths"].values():
            for operation in path.values():
                operation["responses"].pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
