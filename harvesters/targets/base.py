"""The small interface a target implements (the local catalog, a udata portal), and what the pipeline hands it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlparse

from harvesters.licenses import LicenseIndex
from harvesters.models import Dataservice, Dataset, RemoteMetadata, Resource

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Kind = Literal["dataset", "dataservice"]
PayloadT = TypeVar("PayloadT", Dataset, Dataservice)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a write comes from: its source (id, catalog URL, backend), its remote id, what the remote says of
    its identity and dates, and when it was harvested. A target writes it as udata's `harvest` block, or in
    extras where that block is read-only (a udata portal); the source's URL lets a portal recognise the
    catalog after our database is lost."""

    source_id: str
    source_url: str
    remote_id: str
    backend: str = ""
    remote: RemoteMetadata = field(default_factory=RemoteMetadata)
    last_update: datetime | None = None

    @property
    def domain(self) -> str:
        return _hostname(self.source_url)

    def harvest_block(self) -> dict[str, Any]:
        """udata's `harvest` block of a dataset or data service (JSON), not archived."""
        remote = self.remote.model_dump(mode="json")
        return {
            "archived": None,
            "archived_at": None,
            "backend": self.backend,
            "created_at": remote["created_at"],
            "dct_identifier": remote["dct_identifier"],
            "domain": self.domain,
            "issued_at": remote["issued_at"],
            "last_update": self.last_update.isoformat() if self.last_update else None,
            "modified_at": remote["modified_at"],
            "remote_id": self.remote_id,
            "remote_url": remote["remote_url"],
            "source_id": self.source_id,
            "uri": remote["uri"],
        }


@lru_cache(maxsize=64)
def _hostname(url: str) -> str:
    """The host of a source's URL (asked once a write: parsed once a source)."""
    return urlparse(url).hostname or ""


MODELS: dict[Kind, type[Dataset] | type[Dataservice]] = {"dataset": Dataset, "dataservice": Dataservice}


@dataclass(eq=False)
class Write(Generic[PayloadT]):
    """One dataset or data service to write: the mapped payload as JSON (`document`, hashed then written; a
    data service's `datasets` are our ids of the datasets it serves), where it comes from, and its publisher.
    Made from the payload's model (`Write.of`), or from its JSON alone, as a helper process maps it
    (harvesters/mapper.py): `payload` is then validated from the JSON when first asked for."""

    kind: Kind
    document: dict[str, Any]
    provenance: Provenance
    organization: str | None = None
    owner: str | None = None

    @classmethod
    def of(cls, payload: PayloadT, provenance: Provenance, organization: str | None = None,
           owner: str | None = None) -> Write[PayloadT]:
        """The write of a payload's model (dumped to JSON once)."""
        kind: Kind = "dataservice" if isinstance(payload, Dataservice) else "dataset"
        write = cls(kind, payload.model_dump(mode="json"), provenance, organization, owner)
        write.__dict__["payload"] = payload
        return write

    @property
    def title(self) -> str:
        return self.document["title"]

    @cached_property
    def harvest(self) -> dict[str, Any]:
        """Its provenance's `harvest` block (made once: hashed, then written)."""
        return self.provenance.harvest_block()

    @cached_property
    def payload(self) -> PayloadT:
        return MODELS[self.kind].model_validate(self.document)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Written:
    """Where a write went: the dataset's (or data service's) id, whether it was `created` or `updated`, and what
    the target had to leave out of it (a contact point the portal refused), for the item's log."""

    id: str
    outcome: Literal["created", "updated"]
    warnings: tuple[str, ...] = ()


class TargetError(Exception):
    """The target refused one write (e.g. a portal's validation message): that item fails, the job goes on.
    `detail` is the target's own explanation, when it gave one."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class TargetUnavailable(TargetError):
    """The target cannot take writes for now (a portal down, its circuit breaker open): the item stays pending
    and the job pauses."""


#: Each write with the id its dataset (or data service) had before, None for one not harvested yet.
Writes = Sequence[tuple[Write[Any], str | None]]
#: By remote id: the document a target holds, and the one a write would make of it.
Rewrites = dict[str, tuple[dict[str, Any], dict[str, Any]]]


class Target(Protocol):
    """Where the pipeline writes datasets and data services: the local catalog or a udata portal
    (harvesters/targets/__init__.py opens the configured one)."""

    def write_each(self, writes: Writes) -> Iterator[tuple[int, Written | Exception]]:
        """Write each (write, id it had before or None): update that one, else the one the target has for the
        same (source, remote id), else create it. Yield (its index, where it went or the error that failed it)
        as each is done, in any order. After a TargetUnavailable nothing more is sent; what was not sent is
        not yielded (it stays pending)."""
        ...

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        """Mark a dataset (or, by `kind`, a data service) archived: it is no longer on the remote."""

    def licenses(self) -> LicenseIndex:
        """The target's licenses (the shape of GET /api/1/datasets/licenses/), indexed for guessing."""
        ...

    def for_job(self) -> Target:
        """This target for one job: what it caches (reference lists, its dataset index) lives as long as that."""
        ...


@runtime_checkable
class BatchTarget(Target, Protocol):
    """A target whose documents live in the store: a batch of writes joins the store's transaction, so
    that datasets, links and items are written together, in a few statements."""

    def write_batch(self, conn: Connection, writes: Writes) -> list[Written]:
        """Write each (write, id it had before or None) of one source; an unknown one is found by its
        (source, remote id), else created."""
        ...

    def rewrites(self, source_id: str, writes: Sequence[Write[Any]]) -> Rewrites:
        """For each write (of one kind) of a remote id of the source it holds: the document held, and the one the
        write would make of it (stamped as the one it replaces), by remote id: what a preview compares."""
        ...


def resource_key(resource: dict[str, Any]) -> tuple[str, str]:
    """How a resource is recognised across runs: its upstream identity, else its URL and title."""
    uri = (resource.get("harvest") or {}).get("uri")
    return ("uri", uri) if uri else ("url", f"{resource.get('url')}\n{resource.get('title')}")


def kept_resource_ids(previous: list[dict[str, Any]], resources: list[dict[str, Any]]) -> list[str | None]:
    """The id each new resource (as JSON) keeps: that of the previous resource it matches, by identity, else by
    URL; None for a new one."""
    if not previous:  # a new dataset: every resource gets a new id
        return [None] * len(resources)
    by_key = {resource_key(old): old["id"] for old in previous if old.get("id")}
    by_url: dict[str, str] = {}
    for old in previous:
        if old.get("id"):
            by_url.setdefault(old.get("url", ""), old["id"])
    used: set[str] = set()
    kept: list[str | None] = []
    for resource in resources:
        rid = by_key.get(resource_key(resource))
        if rid is None or rid in used:
            rid = by_url.get(resource["url"])
        kept.append(rid if rid not in used else None)
        if rid:
            used.add(rid)
    return kept


def keep_resource_ids(previous: list[dict[str, Any]], resources: list[Resource]) -> list[Resource]:
    """Give each new resource the id of the previous resource it matches (see `kept_resource_ids`)."""
    ids = kept_resource_ids(previous, [resource.model_dump(mode="json") for resource in resources])
    return [resource if resource.id == rid else resource.model_copy(update={"id": rid})
            for resource, rid in zip(resources, ids, strict=True)]
