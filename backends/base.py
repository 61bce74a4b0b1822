"""The one class a backend author subclasses, and everything else a backend needs, importable from here.

A backend declares what a source may configure (filters, features, extra configs), yields the
remote records of a catalog page by page (`gather`), and maps one record to a dataset (`map`).
`map` is pure: no network, no database, so it can be tested on a fixture alone. Downloading,
storing, writing to the portal and archiving are the framework's job.

Besides its own options, every backend accepts the framework's (`FRAMEWORK_EXTRA_CONFIGS`: the extra hosts
its catalog's links may lead to). A gather is bounded by its `GatherBudget` (pages and records).

Here too (see `__all__`, and docs/backends.md for a walk through writing a backend): what `map` returns
(`Mapped`, `Dataset`, `Dataservice`, `Resource`, `RemoteMetadata` and the pieces of a payload; the portal's
licenses, `LicenseIndex`, and `license_extras` for a license text it does not name), the errors
a backend raises or meets (`GatherError`, `IncompleteGather`, `SkipRecord`, `HttpError`), the safe parsers
of an answer (`parse_json`, `parse_xml`, `refuse_document_type`, `media_type`) and the reader of an error
answer's body (`ErrorAnswer`). The value clean-up every mapping shares (dates, tags, HTML, contacts...) is in
`backends.normalize`, the vocabularies more than one protocol reads in `backends.vocabularies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol

from pydantic import ValidationError

from harvesters.answers import ErrorAnswer, field_problems, label_message
from harvesters.http import Http, HttpError, media_type, parse_json, parse_xml, refuse_document_type
from harvesters.licenses import LicenseIndex, license_extras
from harvesters.models import (
    Checksum,
    ConfigFilter,
    ContactPoint,
    Dataservice,
    Dataset,
    Geometry,
    HarvestConfig,
    Mapped,
    RemoteMetadata,
    Resource,
    ResourceHarvest,
    Schema,
    Spatial,
    TemporalCoverage,
)
from harvesters.origin import parse_hosts
from harvesters.settings import settings

__all__ = [
    # what a backend is, declares and gathers
    "Backend", "BackendContext", "GatherBudget", "Option", "PageMemory", "Record", "FRAMEWORK_EXTRA_CONFIGS",
    # what its mapping returns, and the portal's licenses it guesses from
    "Checksum", "ConfigFilter", "ContactPoint", "Dataservice", "Dataset", "Geometry", "HarvestConfig", "Mapped",
    "RemoteMetadata", "Resource", "ResourceHarvest", "Schema", "Spatial", "TemporalCoverage", "LicenseIndex",
    "license_extras",
    # what it raises, and what it meets
    "ConfigError", "GatherError", "GatherLimitReached", "HarvestException", "HttpError", "IncompleteGather",
    "SkipRecord",
    # reading answers
    "ErrorAnswer", "Http", "field_problems", "label_message", "media_type", "parse_json", "parse_xml",
    "refuse_document_type",
]


class HarvestException(Exception):
    """Base of the errors the framework records with their message."""


class GatherError(HarvestException):
    """The catalog cannot be reached or read: the job fails with this message."""


class IncompleteGather(GatherError):
    """The catalog announced more than its pages gave (a short or an empty page): the job fails, so nothing is
    archived after it."""

    def __init__(self, announced: str, received: str) -> None:
        super().__init__(f"Incomplete gather: {announced}, but {received}; nothing is archived after an "
                         "incomplete gather")


class GatherLimitReached(GatherError):
    """A gather went past its budget (HARVEST_GATHER_MAX_PAGES or HARVEST_GATHER_MAX_RECORDS)."""


class SkipRecord(HarvestException):
    """The record is deliberately not harvested (the item is `skipped` with this reason)."""


class ConfigError(HarvestException, ValueError):
    """A source's config does not fit what its backend declares."""


@dataclass(frozen=True)
class Option:
    """A declared filter, feature or extra config. `type` is a Python type (str, int, bool)."""

    key: str
    label: str
    type: type = str
    description: str = ""
    default: Any = None
    secret: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "type": self.type.__name__,
            "description": self.description,
            "default": self.default,
            "secret": self.secret,
        }


@dataclass
class Record:
    """One remote dataset as gathered. `data` is JSON-serializable so it can be stored and queued.

    A record the catalog lists but that cannot be harvested at all (no identifier) carries a
    `skip_reason`: it is reported as a skipped item without being mapped. One the catalog lists but that
    cannot be read (its own request refused, a record in another schema) carries an `error`: its item fails
    with that message without being mapped, and the job goes on. `warnings` are for its item's log (e.g. it
    comes from a page that could only be read leniently).
    """

    remote_id: str
    remote_url: str | None = None
    data: Any = None
    kind: str = "dataset"
    skip_reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    digest: str | None = None  # the hash of its fields, once the framework computed it (a recalled record: no data)


@dataclass
class GatherBudget:
    """What one gather may fetch: past `max_pages` requests or `max_records` records, it fails."""

    max_pages: int
    max_records: int
    pages: int = 0
    records: int = 0

    @classmethod
    def from_settings(cls) -> GatherBudget:
        config = settings()
        return cls(config.gather_max_pages, config.gather_max_records)

    def count_page(self, url: str) -> None:
        if self.pages >= self.max_pages:
            raise GatherLimitReached(f"The gather stopped before {url}: it made {self.max_pages} requests already, "
                                     "the most allowed (HARVEST_GATHER_MAX_PAGES); does the catalog page without end?")
        self.pages += 1

    def count_record(self) -> None:
        if self.records >= self.max_records:
            raise GatherLimitReached(f"The gather stopped after {self.max_records} records, the most allowed "
                                     "(HARVEST_GATHER_MAX_RECORDS)")
        self.records += 1


class PageMemory(Protocol):
    """What the framework remembers of the pages a backend read (harvesters/recall.py): a page read again
    with the same content, whose records were all harvested unchanged, is recalled instead of parsed."""

    def recall(self, url: str, content: bytes) -> tuple[list[Record], dict[str, Any]] | None:
        """The page's records (without data) and the notes remembered with them, when it can be recalled."""

    def remember(self, url: str, content: bytes, records: list[Record], notes: dict[str, Any]) -> None:
        """Remember a page read and cut into these records, with notes of the backend's (its next pages...)."""


@dataclass
class BackendContext:
    """What a backend may use: the HTTP client (in `gather` only), the target portal's licenses, the gather's
    budget, the memory of the pages it read last time (in `gather`, if it pages); `warnings` collects what the
    gather says about the whole job (e.g. a page read leniently); `announced` is the number of records the
    catalog says it holds, when it says one (what the job's progress counts towards)."""

    http: Http
    licenses: LicenseIndex | None = None
    options: dict[str, Any] = field(default_factory=dict)
    budget: GatherBudget = field(default_factory=GatherBudget.from_settings)
    warnings: list[str] = field(default_factory=list)
    pages: PageMemory | None = None
    announced: int | None = None

    def announce(self, total: int | None) -> None:
        """The catalog says it holds `total` records (Hydra totalItems, CSW numberOfRecordsMatched, CKAN count,
        ODS total_count), as the paging loop reads it to check that the gather is complete."""
        if total is not None:
            self.announced = total


#: Extra configs every backend accepts besides its own; the framework reads them.
FRAMEWORK_EXTRA_CONFIGS = (
    Option("allowed_hosts", "Allowed hosts", str,
           "Other hosts (host or host:port, comma-separated) the catalog's paging links and redirects may lead to"),
)


class Backend:
    name: ClassVar[str]
    display_name: ClassVar[str]
    filters: ClassVar[tuple[Option, ...]] = ()
    features: ClassVar[tuple[Option, ...]] = ()
    extra_configs: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, url: str, config: HarvestConfig, context: BackendContext) -> None:
        self.url = url
        self.config = config
        self.context = context

    @cached_property
    def http(self) -> Http:
        """The context's client held to this source: its origin (and `allowed_hosts`), the gather's page budget."""
        return self.context.http.for_source(self.url, parse_hosts(self.extra("allowed_hosts")), self.context.budget)

    def gather(self) -> Iterator[Record]:
        """Yield the catalog's records, fetching one page at a time. Raise GatherError on failure."""
        raise NotImplementedError

    def records(self) -> Iterator[Record]:
        """`gather`'s records, counted against the gather's budget (what the framework calls)."""
        for record in self.gather():
            self.context.budget.count_record()
            yield record

    def map(self, record: Record) -> Mapped:
        """Map one record to a dataset. Raise SkipRecord to skip it; any other error fails the item."""
        raise NotImplementedError

    def feature(self, key: str) -> bool:
        declared = next(option for option in self.features if option.key == key)
        return self.config.features.get(key, bool(declared.default))

    def extra(self, key: str) -> Any:
        declared = next(option for option in self.accepted_extra_configs() if option.key == key)
        return self.config.extra(key, declared.default)

    @classmethod
    def accepted_extra_configs(cls) -> tuple[Option, ...]:
        """The backend's extra configs, then the framework's."""
        return (*cls.extra_configs, *FRAMEWORK_EXTRA_CONFIGS)

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        """The backend as udata lists it (`GET /api/1/harvest/backends/`): its id, label and declared options."""
        return {
            "id": cls.name,
            "label": cls.display_name,
            "filters": [option.to_json() for option in cls.filters],
            "features": [option.to_json() for option in cls.features],
            "extra_configs": [option.to_json() for option in cls.accepted_extra_configs()],
        }

    @classmethod
    def validate_config(cls, raw: dict[str, Any] | None) -> HarvestConfig:
        """Parse a source's config and check every key and value against the declarations."""
        try:
            config = HarvestConfig.model_validate(raw or {})
        except ValidationError as error:
            raise ConfigError(f"Invalid config: {config_problem(error)}") from None
        for flt in config.filters:
            flt.value = _check_value(cls.filters, "filter", flt.key, flt.value, cls.name)
        for key, value in config.features.items():
            _check_value(cls.features, "feature", key, value, cls.name)
        for extra in config.extra_configs:
            extra.value = _check_value(cls.accepted_extra_configs(), "extra config", extra.key, extra.value, cls.name)
        try:
            parse_hosts(config.extra("allowed_hosts"))
        except ValueError as error:
            raise ConfigError(f"Extra config 'allowed_hosts': {error}") from None
        return config

    @classmethod
    def secret_keys(cls) -> set[str]:
        return {option.key for option in cls.accepted_extra_configs() if option.secret}


CONFIG_SHAPES = {"filters": "a list of {key, value, type}", "features": "an object {key: true or false}",
                 "extra_configs": "a list of {key, value}"}


def config_problem(error: ValidationError) -> str:
    """What is wrong with a config, in the config's own words (`extra_configs must be a list of {key, value}`)."""
    problem = error.errors()[0]
    where = [str(part) for part in problem["loc"]]
    if not where:
        return "a config is an object {filters, features, extra_configs}"
    part = where[0]
    if part not in CONFIG_SHAPES:
        return f"unknown key '{part}': a config has filters, features and extra_configs"
    shape = f"{part} must be {CONFIG_SHAPES[part]}"
    if len(where) < 3 or part == "features":
        return shape if len(where) < 2 else f"{shape} (entry {int(where[1]) + 1} is not one)"
    entry, field = int(where[1]) + 1, where[2]
    if problem["type"] == "missing":
        return f"{shape}: entry {entry} has no {field}"
    if problem["type"] == "extra_forbidden":
        return f"{shape}: entry {entry} has an unknown key '{field}'"
    if field == "type":
        return f"{part} entry {entry}: type must be include or exclude, not {problem.get('input')!r}"
    return f"{shape}: entry {entry}'s {field} is not valid"


def _check_value(options: tuple[Option, ...], kind: str, key: str, value: Any, backend: str) -> Any:
    option = next((option for option in options if option.key == key), None)
    if option is None:
        known = ", ".join(option.key for option in options) or "none"
        raise ConfigError(f"Unknown {kind} '{key}' for backend '{backend}' (known: {known})")
    if option.type is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, option.type) or (isinstance(value, bool) and option.type is not bool):
        raise ConfigError(
            f"{kind.capitalize()} '{key}' expects a {option.type.__name__}, got {type(value).__name__} {value!r}"
        )
    return value
