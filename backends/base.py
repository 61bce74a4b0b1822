"""The one class a backend author subclasses.

A backend declares what a source may configure (filters, features, extra configs), yields the
remote records of a catalog page by page (`gather`), and maps one record to a dataset (`map`).
`map` is pure: no network, no database, so it can be tested on a fixture alone. Downloading,
storing, writing to the portal and archiving are the framework's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harvesters.models import HarvestConfig, Mapped

if TYPE_CHECKING:
    from harvesters.http import Http
    from harvesters.licenses import LicenseIndex


class HarvestException(Exception):
    """Base of the errors the framework records with their message."""


class GatherError(HarvestException):
    """The catalog cannot be reached or read: the job fails with this message."""


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
    `skip_reason`: it is reported as a skipped item without being mapped.
    """

    remote_id: str
    remote_url: str | None = None
    data: Any = None
    kind: str = "dataset"
    skip_reason: str | None = None
    digest: str | None = None  # the hash of the above, once the framework computed it (a recalled record: no data)


class PageMemory(Protocol):
    """What the framework remembers of the pages a backend read (harvesters/recall.py): a page read again
    with the same content, whose records were all harvested unchanged, is recalled instead of parsed."""

    def recall(self, url: str, content: bytes) -> tuple[list[Record], list[str]] | None:
        """The page's records (without data) and the links it had, when it can be recalled."""

    def remember(self, url: str, content: bytes, records: list[Record], links: list[str]) -> None:
        """Remember a page read and cut into these records, with its links to other pages."""


@dataclass
class BackendContext:
    """What a backend may use: the HTTP client (in `gather` only), the target portal's licenses and the
    memory of the pages it read last time (in `gather`, if it pages)."""

    http: Http
    licenses: LicenseIndex | None = None
    options: dict[str, Any] = field(default_factory=dict)
    pages: PageMemory | None = None


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

    @property
    def http(self) -> Http:
        return self.context.http

    def gather(self) -> Iterator[Record]:
        """Yield the catalog's records, fetching one page at a time. Raise GatherError on failure."""
        raise NotImplementedError

    def map(self, record: Record) -> Mapped:
        """Map one record to a dataset. Raise SkipRecord to skip it; any other error fails the item."""
        raise NotImplementedError

    def feature(self, key: str) -> bool:
        declared = next(option for option in self.features if option.key == key)
        return self.config.features.get(key, bool(declared.default))

    def extra(self, key: str) -> Any:
        declared = next(option for option in self.extra_configs if option.key == key)
        return self.config.extra(key, declared.default)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "id": cls.name,
            "label": cls.display_name,
            "filters": [option.to_json() for option in cls.filters],
            "features": [option.to_json() for option in cls.features],
            "extra_configs": [option.to_json() for option in cls.extra_configs],
        }

    @classmethod
    def validate_config(cls, raw: dict[str, Any] | None) -> HarvestConfig:
        """Parse a source's config and check every key and value against the declarations."""
        try:
            config = HarvestConfig.model_validate(raw or {})
        except ValueError as error:
            raise ConfigError(f"Invalid config: {error}") from error
        for flt in config.filters:
            flt.value = _check_value(cls.filters, "filter", flt.key, flt.value, cls.name)
        for key, value in config.features.items():
            _check_value(cls.features, "feature", key, value, cls.name)
        for extra in config.extra_configs:
            extra.value = _check_value(cls.extra_configs, "extra config", extra.key, extra.value, cls.name)
        return config

    @classmethod
    def secret_keys(cls) -> set[str]:
        return {option.key for option in cls.extra_configs if option.secret}


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
