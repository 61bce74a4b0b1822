"""What is sent to a udata portal, and how provenance is read back from what it answers.

Every write sends the full payload (udata's PUT clears what it is not sent). udata's API does not let a
client set a dataset's `harvest` block, so provenance goes in `harvest:*` extras (the source's URL
included, so that `attach` recognises the catalog after our database is lost), and a resource's upstream
identity in its `harvest:uri` extra so that it keeps its portal id across runs. Contact points are
separate objects on the portal: a payload names them by id (see `contacts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvesters.licenses import LicenseIndex
from harvesters.models import Dataservice, Dataset, Resource
from harvesters.targets.base import Provenance, Write, keep_resource_ids

EXTRA = "harvest:"
RESOURCE_URI_EXTRA = "harvest:uri"
# What a PUT must send back to archive a dataset without clearing anything (resources, left out, are kept).
KEPT_ON_ARCHIVE = (
    "title", "acronym", "description", "license", "frequency", "frequency_date", "temporal_coverage",
    "spatial", "tags", "private", "extras", "access_type", "access_audiences", "authorization_request_url",
    "access_type_reason_category", "access_type_reason",
)


def dataset_body(
    write: Write[Dataset],
    licenses: LicenseIndex,
    frequencies: set[str],
    previous_resources: list[dict[str, Any]],
    contact_points: list[str],
) -> dict[str, Any]:
    """The full body of POST/PUT /api/1/datasets/: every field sent (None clears it), values the portal
    does not know (license, frequency) kept in `harvest:*` extras instead, the title standing for a missing
    description (which udata requires), provenance in extras, the contact points by their portal ids."""
    data = write.document
    extras = provenance_extras(data["extras"], write.provenance)
    body: dict[str, Any] = {
        "title": data["title"],
        "description": data["description"] or data["title"],  # udata refuses an empty description
        "acronym": data["acronym"],
        "tags": data["tags"],
        "license": None,
        "frequency": None,
        "temporal_coverage": _temporal(data["temporal_coverage"]),
        "spatial": _spatial(data["spatial"]),
        "contact_points": contact_points,
        "access_type": data["access_type"],
        "access_type_reason_category": data["access_type_reason_category"],
        "private": data["private"],
        "extras": extras,
        "resources": [resource_body(resource) for resource in
                      keep_resource_ids([_with_uri(old) for old in previous_resources], write.payload.resources)],
        "archived": None,
    }
    for key, known in (("license", licenses.ids), ("frequency", frequencies)):
        if data[key] in known:
            body[key] = data[key]
        elif data[key]:
            extras[EXTRA + key] = data[key]
    if write.organization:
        body["organization"] = write.organization
    return body


def dataservice_body(write: Write[Dataservice], contact_points: list[str]) -> dict[str, Any]:
    """The body of POST/PATCH /api/1/dataservices/: every mapped field (its `datasets` are portal dataset
    ids), provenance in extras as for datasets, the contact points by id, `archived_at` null (an update
    un-archives)."""
    data = write.document
    body = {**data, "contact_points": contact_points, "extras": provenance_extras(data["extras"], write.provenance),
            "archived_at": None}
    if write.organization:
        body["organization"] = write.organization
    return body


def archive_body(current: dict[str, Any], when: str) -> dict[str, Any]:
    """The PUT that archives a dataset as the portal has it, changing nothing else."""
    body = {key: current[key] for key in KEPT_ON_ARCHIVE if key in current}
    body["contact_points"] = [contact["id"] for contact in current.get("contact_points") or []]
    if current.get("organization"):
        body["organization"] = current["organization"]["id"]
    return body | {"archived": when}


def provenance_extras(extras: dict[str, Any], provenance: Provenance) -> dict[str, Any]:
    """The mapped extras and the provenance as `harvest:*` extras (udata's `harvest` is read-only)."""
    kept = {key: value for key, value in extras.items() if value is not None}
    kept |= {EXTRA + key: value for key, value in provenance.harvest_block().items()
             if value is not None and key not in ("archived", "archived_at")}
    kept[EXTRA + "source_url"] = provenance.source_url
    return kept


@dataclass(frozen=True, slots=True)
class Harvested:
    """The provenance a portal dataset carries: ours (`harvest:*` extras), else that of udata's own harvester."""

    source_id: str | None
    remote_id: str | None
    domain: str | None
    source_url: str | None  # only in ours
    ours: bool  # written by this harvester (it has `harvest:source_id`)


def read_provenance(dataset: dict[str, Any]) -> Harvested:
    """The provenance of a dataset as the portal answers it."""
    extras = dataset.get("extras") or {}
    native = dataset.get("harvest") or {}
    return Harvested(
        source_id=extras.get(EXTRA + "source_id") or native.get("source_id"),
        remote_id=extras.get(EXTRA + "remote_id") or native.get("remote_id"),
        domain=extras.get(EXTRA + "domain") or native.get("domain"),
        source_url=extras.get(EXTRA + "source_url"),
        ours=EXTRA + "source_id" in extras,
    )


def resource_body(resource: Resource) -> dict[str, Any]:
    data = resource.model_dump(mode="json", exclude={"harvest", "created_at", "last_modified"})
    if data["id"] is None:
        del data["id"]
    extras = {key: value for key, value in data["extras"].items() if value is not None}
    if resource.harvest and resource.harvest.uri:
        extras[RESOURCE_URI_EXTRA] = resource.harvest.uri
    return {**data, "extras": extras}


def _with_uri(resource: dict[str, Any]) -> dict[str, Any]:
    """A portal resource as keep_resource_ids reads it: its upstream identity from its extras."""
    return {**resource, "harvest": {"uri": (resource.get("extras") or {}).get(RESOURCE_URI_EXTRA)}}


def _spatial(spatial: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spatial coverage without unset parts (udata refuses a null granularity)."""
    kept = {key: value for key, value in (spatial or {}).items() if value not in (None, [])}
    return kept or None


def _temporal(coverage: dict[str, Any] | None) -> dict[str, str] | None:
    """udata takes dates (YYYY-MM-DD) for a temporal coverage."""
    if not coverage or not coverage.get("start"):
        return None
    return {key: value[:10] for key, value in coverage.items() if value}
