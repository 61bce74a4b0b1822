"""Pydantic models, named and nested exactly as udata documents them (see the API reference).

Two families live here: the harvest records (HarvestSource, HarvestJob, HarvestItem and their
errors and logs) and the payloads a backend's mapping produces (Dataset, Resource, Dataservice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

JobStatus = Literal["pending", "initializing", "initialized", "processing", "done", "done-errors", "failed"]
ItemStatus = Literal["pending", "started", "done", "failed", "skipped", "archived"]
ValidationState = Literal["pending", "accepted", "refused"]
FINISHED_JOB_STATUSES: frozenset[str] = frozenset({"done", "done-errors", "failed"})


class Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape: every key present, aliases applied."""
        return self.model_dump(mode="json", by_alias=True)


# --- references to other udata objects -----------------------------------------------------------


class Badge(Model):
    kind: str


class OrganizationRef(Model):
    class_: str = Field("Organization", alias="class")
    id: str
    acronym: str | None = None
    badges: list[Badge] = []
    logo: str | None = None
    logo_thumbnail: str | None = None
    name: str | None = None
    page: str | None = None
    slug: str | None = None
    uri: str | None = None


class UserRef(Model):
    class_: str = Field("User", alias="class")
    id: str
    avatar: str | None = None
    avatar_thumbnail: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    page: str | None = None
    slug: str | None = None
    uri: str | None = None


class DatasetRef(Model):
    class_: str = Field("Dataset", alias="class")
    id: str
    acronym: str | None = None
    page: str | None = None
    title: str | None = None
    uri: str | None = None


class DataserviceRef(Model):
    class_: str = Field("Dataservice", alias="class")
    id: str
    self_api_url: str | None = None
    self_web_url: str | None = None
    title: str | None = None


# --- harvest records -------------------------------------------------------------------------------


class HarvestError(Model):
    level: str = "error"
    message: str


class HarvestLog(Model):
    level: str = "info"
    message: str


class HarvestItem(Model):
    args: list[str] = []
    created: datetime
    dataservice: DataserviceRef | None = None
    dataset: DatasetRef | None = None
    ended: datetime | None = None
    errors: list[HarvestError] = []
    kwargs: dict[str, Any] = {}
    logs: list[HarvestLog] = []
    remote_id: str
    remote_url: str | None = None
    started: datetime | None = None
    status: ItemStatus = "pending"


class HarvestJobFields(Model):
    """What every shape of a job has; the shapes differ by their `items`."""

    created: datetime
    ended: datetime | None = None
    errors: list[HarvestError] = []
    id: str
    source: str
    started: datetime | None = None
    status: JobStatus = "pending"


class HarvestJob(HarvestJobFields):
    """A job with all its items (udata's documented shape)."""

    items: list[HarvestItem] = []


class ItemsSummary(Model):
    """How many items a job has, by status (udata's newer job shape)."""

    total: int = 0
    by_status: dict[str, int] = {}


class ItemsPage(ItemsSummary):
    """The counts of a job's items and one page of them."""

    data: list[HarvestItem] = []
    next_page: str | None = None
    page: int = 1
    page_size: int = 20
    previous_page: str | None = None


class ItemProblemGroup(Model):
    """Item problems with the same status, level and message, and how many items have it."""

    status: str
    level: str
    message: str
    count: int


Stage = Literal["gather", "write", "archive"]


class JobProgress(Model):
    """Where an unfinished job is: its stage, the items it expects (`total`: the number the catalog announced,
    else those gathered once the gather is over), those processed, the rate (items per second) and the time
    left (seconds), when they can be told."""

    stage: Stage | None = None
    announced: int | None = None
    total: int | None = None
    processed: int = 0
    rate: float | None = None
    eta: float | None = None


class HarvestJobSummary(HarvestJobFields):
    """A job in a listing: its item counts instead of its items, and its progress while it runs."""

    items: ItemsSummary = Field(default_factory=ItemsSummary)
    progress: JobProgress | None = None


class HarvestJobDetail(HarvestJobFields):
    """A job as its own page shows it: a page of its items with their counts, its item problems grouped by
    message, its progress while it runs."""

    items: ItemsPage = Field(default_factory=ItemsPage)
    problems: list[ItemProblemGroup] = []
    progress: JobProgress | None = None


class Validation(Model):
    by: UserRef | None = None
    comment: str | None = None
    on: datetime | None = None
    state: ValidationState = "pending"


class SourcePermissions(Model):
    delete: bool = False
    edit: bool = False
    preview: bool = False
    run: bool = False
    schedule: bool = False
    validate_: bool = Field(False, alias="validate")


class Notifications(Model):
    """Who hears of a source's jobs, and when: `error` (a job that failed or ended with errors) or `always`."""

    emails: list[str] = []
    webhook: str | None = None
    on: Literal["error", "always"] = "error"


class HarvestSource(Model):
    active: bool = True
    autoarchive: bool = True
    backend: str
    config: dict[str, Any] = {}
    created_at: datetime
    deleted: datetime | None = None
    description: str | None = None
    id: str
    last_job: HarvestJobSummary | HarvestJob | None = None
    name: str
    notifications: Notifications | None = None
    organization: OrganizationRef | None = None
    owner: UserRef | None = None
    permissions: SourcePermissions = Field(default_factory=SourcePermissions)
    schedule: str | None = None
    slug: str
    url: str
    validation: Validation = Field(default_factory=Validation)


# --- source config (udata's shape) ------------------------------------------------------------------


class ConfigFilter(Model):
    key: str
    value: Any
    type: Literal["include", "exclude"] = "include"


class ConfigExtra(Model):
    key: str
    value: Any


class HarvestConfig(Model):
    filters: list[ConfigFilter] = []
    features: dict[str, Any] = {}
    extra_configs: list[ConfigExtra] = []

    def extra(self, key: str, default: Any = None) -> Any:
        return next((extra.value for extra in self.extra_configs if extra.key == key), default)


# --- dataset payloads (the body of POST /api/1/datasets/) --------------------------------------------


class Payload(BaseModel):
    """Base for what mappings produce: unknown keys are a programming error."""

    model_config = ConfigDict(extra="forbid")


class Checksum(Payload):
    type: Literal["md5", "sha1", "sha256"]
    value: str


class ResourceHarvest(Payload):
    issued_at: datetime | None = None
    modified_at: datetime | None = None
    uri: str | None = None


class Schema(Payload):
    """The schema a resource conforms to, in udata's shape."""

    name: str | None = None
    url: str | None = None
    version: str | None = None


class Resource(Payload):
    """A resource as sent to the portal; `harvest.uri` is its stable identity upstream, when it has one.
    `schema_` is udata's `schema` (the name would shadow pydantic's own attribute); left out when unset, so
    that payloads (and their hashes) without one are as before."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    id: str | None = None
    title: str
    url: str
    description: str | None = None
    type: Literal["main", "documentation", "update", "api", "code", "other"] = "main"
    filetype: Literal["file", "remote"] = "remote"
    format: str | None = None
    mime: str | None = None
    filesize: int | None = None
    checksum: Checksum | None = None
    extras: dict[str, Any] = {}
    schema_: Schema | None = Field(None, alias="schema", exclude_if=lambda schema: schema is None)
    harvest: ResourceHarvest | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None


class TemporalCoverage(Payload):
    """Bounds as parsed (offsets kept); written as udata documents them: dates, `YYYY-MM-DD`."""

    start: datetime | None = None
    end: datetime | None = None

    @field_serializer("start", "end", when_used="json-unless-none")
    def _as_date(self, bound: datetime) -> str:
        return bound.date().isoformat()


class Geometry(Payload):
    type: str
    coordinates: list[Any]


class Spatial(Payload):
    geom: Geometry | None = None
    granularity: str | None = None
    zones: list[str] = []


class ContactPoint(Payload):
    name: str | None = None
    email: str | None = None
    contact_form: str | None = None
    role: str = "contact"


class Dataset(Payload):
    """The dataset a backend maps one remote record to (udata's dataset create body)."""

    title: str
    description: str = ""
    acronym: str | None = None
    tags: list[str] = []
    license: str | None = None
    frequency: str | None = None
    temporal_coverage: TemporalCoverage | None = None
    spatial: Spatial | None = None
    contact_points: list[ContactPoint] = []
    resources: list[Resource] = []
    extras: dict[str, Any] = {}
    access_type: str | None = None
    access_type_reason_category: str | None = None
    private: bool = False


class RemoteMetadata(Payload):
    """What the remote says about a dataset's (or data service's) identity and dates (the mapped part of
    `harvest`)."""

    remote_url: str | None = None
    uri: str | None = None
    dct_identifier: str | None = None
    created_at: datetime | None = None
    issued_at: datetime | None = None
    modified_at: datetime | None = None


class Dataservice(Payload):
    """A data service as udata's POST /api/1/dataservices/ takes it (udata 17.18 names the endpoint
    description `machine_documentation_url`). A mapping puts the remote ids of the datasets it serves in
    `datasets`; the pipeline replaces them with our dataset ids before writing."""

    title: str
    description: str = ""
    base_api_url: str | None = None
    machine_documentation_url: str | None = None
    tags: list[str] = []
    contact_points: list[ContactPoint] = []
    datasets: list[str] = []
    extras: dict[str, Any] = {}


class Mapped(Payload):
    """A mapping's result: the dataset (or the data service), its remote metadata, and warnings for the
    item's log."""

    dataset: Dataset | None = None
    dataservice: Dataservice | None = None
    remote: RemoteMetadata = RemoteMetadata()
    warnings: list[str] = []

    @model_validator(mode="after")
    def _one_payload(self) -> Mapped:
        if (self.dataset is None) == (self.dataservice is None):
            raise ValueError("a mapping gives exactly one of dataset and dataservice")
        return self

    @model_validator(mode="after")
    def _web_links_only(self) -> Mapped:
        """Links that are not web links (`javascript:`, `data:`, `file:`...) are never written: a resource with
        one is left out, another link emptied, each with a warning. Every backend's mapping ends here."""
        if self.dataset is not None:
            kept = [resource for resource in self.dataset.resources if is_web_link(resource.url)]
            for resource in self.dataset.resources:
                if not is_web_link(resource.url):
                    self.warnings.append(f"Resource '{resource.title}' left out: {_quote_url(resource.url)} is not "
                                         "a web link (http, https, ftp)")
            self.dataset.resources = kept
        links: list[tuple[BaseModel, str]] = [(self.remote, "remote_url")]
        if self.dataservice is not None:
            links += [(self.dataservice, "base_api_url"), (self.dataservice, "machine_documentation_url")]
        for owner, name in links:
            if not is_web_link(url := getattr(owner, name)):
                setattr(owner, name, None)
                self.warnings.append(f"{name} left out: {_quote_url(url)} is not a web link (http, https, ftp)")
        return self


#: The schemes of links written to a portal (those udata accepts); a link without a scheme is left as it is.
WEB_LINK_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})


def is_web_link(url: str | None) -> bool:
    """No link, or one on a web scheme (parsed as browsers do: `java\tscript:` is `javascript:`)."""
    if not url:
        return True
    if url.startswith(("http://", "https://")) and url.isascii() and "[" not in url and "]" not in url:
        return True  # what most links are, without parsing them
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # e.g. an invalid IPv6 host
        return False
    return not scheme or scheme in WEB_LINK_SCHEMES


def _quote_url(url: str) -> str:
    return repr(url if len(url) <= 80 else url[:77] + "...")
