"""What a mapped record is written as: its write (payload, provenance, publisher), the hash telling an unchanged
one, and its shape. Made by the process that writes it, or, for a dataset mapped ahead (harvesters/mapper.py),
hashed and shaped already by the helper that mapped it, the same way."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from harvesters.clock import utcnow
from harvesters.models import HarvestSource, RemoteMetadata
from harvesters.recall import CANONICAL
from harvesters.shape import Shape, shape_of
from harvesters.targets.base import Provenance, Write


def provenance_of(source: HarvestSource, remote_id: str, remote_url: str | None, mapped: dict[str, Any]) -> Provenance:
    """Where a mapped record (Mapped's JSON shape) comes from, harvested now; its item's URL stands for a remote URL
    its mapping did not find."""
    remote = mapped["remote"]
    if not remote["remote_url"] and remote_url:
        remote = {**remote, "remote_url": remote_url}
    return Provenance(source_id=source.id, source_url=source.url, remote_id=remote_id, backend=source.backend,
                      remote=RemoteMetadata.model_validate(remote), last_update=utcnow())


def publisher(source: HarvestSource) -> tuple[str | None, str | None]:
    """The organization and the owner a source's datasets are written for (their ids)."""
    return (source.organization.id if source.organization else None, source.owner.id if source.owner else None)


def dataset_write(source: HarvestSource, remote_id: str, remote_url: str | None, mapped: dict[str, Any]) -> Write[Any]:
    """The write of a mapped dataset (Mapped's JSON shape)."""
    return Write("dataset", mapped["dataset"], provenance_of(source, remote_id, remote_url, mapped), *publisher(source))


def payload_hash(write: Write[Any]) -> str:
    """A canonical hash of what would be written, ignoring the write's own timestamp."""
    harvest = {key: value for key, value in write.harvest.items() if key != "last_update"}
    canonical = orjson.dumps([write.document, harvest, write.provenance.source_url, write.organization, write.owner],
                             option=CANONICAL)
    return hashlib.sha256(canonical).hexdigest()


def hashed_and_shaped(source: HarvestSource, record: dict[str, Any], mapped: dict[str, Any]
                      ) -> tuple[str | None, Shape | None]:
    """The payload hash and the shape of a mapped dataset's write, as its writing process would make them (None
    for a data service, whose write depends on the links of what it serves, or a write that cannot be made: the
    writing process tells why)."""
    if mapped["dataset"] is None:
        return None, None
    try:
        write = dataset_write(source, record["remote_id"], record.get("remote_url"), mapped)
    except Exception:  # its item fails where it is written, saying why
        return None, None
    return payload_hash(write), shape_of(write.document)
