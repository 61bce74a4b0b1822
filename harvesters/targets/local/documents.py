"""The local catalog's documents: datasets and data services in udata's documented shapes."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from harvesters.clock import new_id
from harvesters.models import Dataservice, Dataset, OrganizationRef, UserRef
from harvesters.targets.base import Write, kept_resource_ids


def dataset_document(
    dataset_id: str,
    slug: str,
    write: Write[Dataset],
    previous_resources: list[dict[str, Any]],
    *,
    created_at: datetime,
    last_modified: datetime,
    archived: datetime | None,
) -> dict[str, Any]:
    """The dataset as udata's GET /api/1/datasets/{id}/ documents it."""
    payload = write.document
    harvest = write.harvest
    stamp, created = last_modified.isoformat(), created_at.isoformat()
    kept = kept_resource_ids(previous_resources, payload["resources"])  # in the same order
    resources = [_resource_document(data, resource_id, created, stamp)
                 for resource_id, data in zip(kept, payload["resources"], strict=True)]
    organization, owner = _org(write.organization), _owner(write.owner)
    return {
        "access_audiences": [],
        "access_type": payload["access_type"] or "open",
        "access_type_reason": None,
        "access_type_reason_category": payload["access_type_reason_category"],
        "acronym": payload["acronym"],
        "archived": archived.isoformat() if archived else None,
        "authorization_request_url": None,
        "badges": [],
        "community_resources": [],
        "contact_points": [
            {**contact, "id": new_id(), "organization": organization, "owner": owner}
            for contact in payload["contact_points"]
        ],
        "created_at": created,
        "deleted": None,
        "description": payload["description"],
        "description_short": payload["description"][:200] or None,
        "extras": payload["extras"],
        "featured": False,
        "frequency": payload["frequency"] or "unknown",
        "frequency_date": None,
        "harvest": harvest,
        "id": dataset_id,
        "internal": {"created_at_internal": created, "last_modified_internal": stamp},
        "last_modified": stamp,
        "last_update": harvest["modified_at"] or stamp,
        "license": payload["license"] or "notspecified",
        "metrics": {},
        "organization": organization,
        "owner": owner,
        "page": None,
        "permissions": {"delete": False, "edit": False, "edit_resources": False},
        "private": payload["private"],
        "quality": {},
        "resources": resources,
        "schema": None,
        "slug": slug,
        "spatial": payload["spatial"],
        "tags": payload["tags"],
        "temporal_coverage": payload["temporal_coverage"],
        "title": payload["title"],
        "uri": None,
    }


def dataservice_document(
    dataservice_id: str, write: Write[Dataservice], *, created_at: datetime, modified_at: datetime
) -> dict[str, Any]:
    """The data service as udata's GET /api/1/dataservices/{id}/ documents it, with its datasets listed as
    references (udata answers a link to them instead)."""
    payload = write.document
    return {
        **payload,
        "archived_at": None,
        "created_at": created_at.isoformat(),
        "datasets": [{"class": "Dataset", "id": dataset_id} for dataset_id in payload["datasets"]],
        "deleted_at": None,
        "harvest": write.harvest,
        "id": dataservice_id,
        "metadata_modified_at": modified_at.isoformat(),
        "organization": _org(write.organization),
        "owner": _owner(write.owner),
        "private": False,
    }


def _resource_document(data: dict[str, Any], resource_id: str | None, created: str, stamp: str) -> dict[str, Any]:
    """A resource (its payload as JSON, and the id it keeps) as udata documents it."""
    return {
        "checksum": data["checksum"],
        "created_at": data["created_at"] or created,
        "description": data["description"],
        "extras": data["extras"],
        "filesize": data["filesize"],
        "filetype": data["filetype"],
        "format": data["format"],
        "harvest": data["harvest"] or {"issued_at": None, "modified_at": None, "uri": None},
        "id": resource_id or new_id(),
        "internal": {"created_at_internal": created, "last_modified_internal": stamp},
        "last_modified": data["last_modified"] or stamp,
        "latest": None,
        "metrics": {},
        "mime": data["mime"],
        "preview_url": None,
        "schema": data.get("schema"),
        "title": data["title"],
        "type": data["type"],
        "url": data["url"],
    }


def _org(org_id: str | None) -> dict[str, Any] | None:
    return {**_reference(OrganizationRef, org_id)} if org_id else None


def _owner(owner_id: str | None) -> dict[str, Any] | None:
    return {**_reference(UserRef, owner_id)} if owner_id else None


@lru_cache(maxsize=256)
def _reference(model: type[OrganizationRef] | type[UserRef], object_id: str) -> dict[str, Any]:
    """A publisher's reference as udata documents it (one per publisher, copied into each document)."""
    return model(id=object_id).to_json()
