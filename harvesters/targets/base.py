"""The small interface a target portal implements, and what the pipeline hands it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from harvesters.licenses import LicenseIndex
from harvesters.models import Dataservice, DataserviceRef, Dataset, DatasetRef, Resource

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Kind = Literal["dataset", "dataservice"]


@dataclass(kw_only=True)
class PayloadWrite:
    """What a dataset write and a data service write share: the mapped payload as JSON (`document`, hashed then
    written: dumped once), its complete `harvest` block and its publisher. Built from the payload's model, or
    from its JSON alone (as a helper process maps it, see harvesters/mapper.py): `payload` is then validated
    from the JSON when first asked for."""

    model: ClassVar[type[Dataset] | type[Dataservice]]
    harvest: dict[str, Any]
    organization: str | None = None
    owner: str | None = None
    document: dict[str, Any] = field(default_factory=dict)

    def dump(self, payload: Dataset | Dataservice | None) -> None:
        if payload is not None:
            self.document = payload.model_dump(mode="json")
            self.__dict__["payload"] = payload

    @property
    def title(self) -> str:
        return self.document["title"]

    @cached_property
    def payload(self) -> Dataset | Dataservice:
        return self.model.model_validate(self.document)


@dataclass(kw_only=True)
class DatasetWrite(PayloadWrite):
    """One dataset to write."""

    kind: ClassVar[Kind] = "dataset"
    model: ClassVar[type[Dataset]] = Dataset
    dataset: InitVar[Dataset | None] = None

    def __post_init__(self, dataset: Dataset | None) -> None:
        self.dump(dataset)


@dataclass(kw_only=True)
class DataserviceWrite(PayloadWrite):
    """One data service to write; its `datasets` are our ids of the datasets it serves."""

    kind: ClassVar[Kind] = "dataservice"
    model: ClassVar[type[Dataservice]] = Dataservice
    dataservice: InitVar[Dataservice | None] = None

    def __post_init__(self, dataservice: Dataservice | None) -> None:
        self.dump(dataservice)


Write = DatasetWrite | DataserviceWrite


@dataclass(frozen=True, slots=True)
class Written:
    """Where a write went: the dataset's (or data service's) id, and whether it was `created` or `updated`."""

    id: str
    outcome: Literal["created", "updated"]


class PortalError(Exception):
    """The portal refused one write (e.g. its validation message): that item fails, the job goes on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PortalUnavailable(PortalError):
    """The portal cannot take writes for now: the item stays pending and the job pauses (circuit breaker)."""


class Portal(Protocol):
    def find(self, source_id: str, remote_id: str) -> str | None:
        """The id of the dataset harvested from this source and remote id, if the portal has one."""

    def create(self, write: DatasetWrite) -> DatasetRef: ...

    def update(self, dataset_id: str, write: DatasetWrite) -> DatasetRef: ...

    def create_dataservice(self, write: DataserviceWrite) -> DataserviceRef: ...

    def update_dataservice(self, dataservice_id: str, write: DataserviceWrite) -> DataserviceRef: ...

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        """Mark a dataset (or, by `kind`, a data service) archived: it is no longer on the remote."""

    def licenses(self) -> LicenseIndex:
        """The portal's licenses (the shape of GET /api/1/datasets/licenses/), indexed for guessing."""
        ...

    def for_job(self) -> Portal:
        """This portal for one job: what it caches (reference lists, its dataset index) lives as long as that."""
        ...


@runtime_checkable
class BatchPortal(Portal, Protocol):
    """A portal whose documents live in the store: a batch of writes joins the store's transaction, so
    that datasets, links and items are written together, in a few statements."""

    def write_batch(self, conn: Connection, writes: Sequence[tuple[Write, str | None]]) -> list[Written]:
        """Write each (write, id it had before or None) of one source; an unknown one is found by its
        (source, remote id), else created."""
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
