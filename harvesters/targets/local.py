"""The embedded local catalog: datasets and data services in udata's documented shapes, in the SQL store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from harvesters.licenses import LicenseIndex, load_license_file
from harvesters.models import DataserviceRef, DatasetRef, OrganizationRef, Resource, UserRef
from harvesters.store import Store, dataservices, datasets, new_id, utcnow
from harvesters.targets.base import DataserviceWrite, DatasetWrite, Kind, keep_resource_ids


class LocalCatalog:
    name = "local"

    def __init__(self, store: Store) -> None:
        self.store = store

    def licenses(self) -> LicenseIndex:
        """The license list of HARVEST_LICENSES_FILE, else the bundled data.gouv.fr snapshot (cached)."""
        return load_license_file()

    def find(self, source_id: str, remote_id: str) -> str | None:
        return self._find(datasets, source_id, remote_id)

    def _find(self, table: Table, source_id: str, remote_id: str) -> str | None:
        with self.store.begin() as conn:
            return conn.execute(
                select(table.c.id).where(table.c.source_id == source_id, table.c.remote_id == remote_id)
            ).scalar()

    def create(self, write: DatasetWrite) -> DatasetRef:
        now = utcnow()
        dataset_id = new_id()
        try:
            with self.store.begin() as conn:
                slug = self.store.unique_dataset_slug(conn, write.dataset.title)
                document = _document(dataset_id, slug, write, [], created_at=now, last_modified=now, archived=None)
                conn.execute(insert(datasets).values(
                    id=dataset_id, slug=slug, source_id=write.harvest["source_id"],
                    remote_id=write.harvest["remote_id"], title=write.dataset.title, archived=None,
                    data=document, created_at=now, last_modified=now,
                ))
        except IntegrityError:
            # Another worker created it first: writes are keyed on (source, remote_id).
            existing = self.find(write.harvest["source_id"], write.harvest["remote_id"])
            if existing is None:
                raise
            return self.update(existing, write)
        return DatasetRef(id=dataset_id, title=write.dataset.title, page=None)

    def update(self, dataset_id: str, write: DatasetWrite) -> DatasetRef:
        now = utcnow()
        with self.store.begin() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id).with_for_update()).mappings().one()
            document = _document(
                dataset_id, row["slug"], write, row["data"].get("resources", []),
                created_at=row["created_at"], last_modified=now, archived=None,
            )
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(
                title=write.dataset.title, archived=None, data=document, last_modified=now,
            ))
        return DatasetRef(id=dataset_id, title=write.dataset.title)

    def create_dataservice(self, write: DataserviceWrite) -> DataserviceRef:
        now = utcnow()
        dataservice_id = new_id()
        try:
            with self.store.begin() as conn:
                conn.execute(insert(dataservices).values(
                    id=dataservice_id, source_id=write.harvest["source_id"], remote_id=write.harvest["remote_id"],
                    title=write.dataservice.title, archived=None, created_at=now, last_modified=now,
                    data=_dataservice_document(dataservice_id, write, created_at=now, modified_at=now),
                ))
        except IntegrityError:  # another worker created it first, as for datasets
            existing = self._find(dataservices, write.harvest["source_id"], write.harvest["remote_id"])
            if existing is None:
                raise
            return self.update_dataservice(existing, write)
        return DataserviceRef(id=dataservice_id, title=write.dataservice.title)

    def update_dataservice(self, dataservice_id: str, write: DataserviceWrite) -> DataserviceRef:
        now = utcnow()
        with self.store.begin() as conn:
            created_at = conn.execute(
                select(dataservices.c.created_at).where(dataservices.c.id == dataservice_id).with_for_update()
            ).scalar_one()
            conn.execute(update(dataservices).where(dataservices.c.id == dataservice_id).values(
                title=write.dataservice.title, archived=None, last_modified=now,
                data=_dataservice_document(dataservice_id, write, created_at=created_at, modified_at=now),
            ))
        return DataserviceRef(id=dataservice_id, title=write.dataservice.title)

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        table, key = (dataservices, "archived_at") if kind == "dataservice" else (datasets, "archived")
        with self.store.begin() as conn:
            query = select(table.c.data).where(table.c.id == object_id).with_for_update()
            document = dict(conn.execute(query).scalar_one())
            stamp = when.isoformat()
            document[key] = stamp
            document["harvest"] = {**document.get("harvest", {}), "archived": "not-on-remote", "archived_at": stamp}
            conn.execute(update(table).where(table.c.id == object_id).values(archived=when, data=document))

    # --- reading the catalog --------------------------------------------------------------------------

    def get(self, ident: str) -> dict[str, Any] | None:
        with self.store.begin() as conn:
            return conn.execute(
                select(datasets.c.data).where((datasets.c.id == ident) | (datasets.c.slug == ident))
            ).scalar()

    def list(self, source_id: str | None = None) -> list[dict[str, Any]]:
        return self._list(datasets, source_id)

    def get_dataservice(self, dataservice_id: str) -> dict[str, Any] | None:
        with self.store.begin() as conn:
            return conn.execute(select(dataservices.c.data).where(dataservices.c.id == dataservice_id)).scalar()

    def list_dataservices(self, source_id: str | None = None) -> list[dict[str, Any]]:
        return self._list(dataservices, source_id)

    def _list(self, table: Table, source_id: str | None) -> list[dict[str, Any]]:
        query = select(table.c.data).order_by(table.c.created_at, table.c.id)
        if source_id:
            query = query.where(table.c.source_id == source_id)
        with self.store.begin() as conn:
            return list(conn.execute(query).scalars())


def _document(
    dataset_id: str,
    slug: str,
    write: DatasetWrite,
    previous_resources: list[dict[str, Any]],
    *,
    created_at: datetime,
    last_modified: datetime,
    archived: datetime | None,
) -> dict[str, Any]:
    """The dataset as udata's GET /api/1/datasets/{id}/ documents it."""
    payload = write.dataset.model_dump(mode="json")
    stamp = last_modified.isoformat()
    resources = [
        _resource_document(resource, created_at, stamp)
        for resource in keep_resource_ids(previous_resources, write.dataset.resources)
    ]
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
            {**contact, "id": new_id(), "organization": _org(write.organization), "owner": _owner(write.owner)}
            for contact in payload["contact_points"]
        ],
        "created_at": created_at.isoformat(),
        "deleted": None,
        "description": payload["description"],
        "description_short": payload["description"][:200] or None,
        "extras": payload["extras"],
        "featured": False,
        "frequency": payload["frequency"] or "unknown",
        "frequency_date": None,
        "harvest": write.harvest,
        "id": dataset_id,
        "internal": {"created_at_internal": created_at.isoformat(), "last_modified_internal": stamp},
        "last_modified": stamp,
        "last_update": write.harvest.get("modified_at") or stamp,
        "license": payload["license"] or "notspecified",
        "metrics": {},
        "organization": _org(write.organization),
        "owner": _owner(write.owner),
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


def _dataservice_document(
    dataservice_id: str, write: DataserviceWrite, *, created_at: datetime, modified_at: datetime
) -> dict[str, Any]:
    """The data service as udata's GET /api/1/dataservices/{id}/ documents it, with its datasets listed as
    references (udata answers a link to them instead)."""
    payload = write.dataservice.model_dump(mode="json")
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


def _resource_document(resource: Resource, created_at: datetime, stamp: str) -> dict[str, Any]:
    data = resource.model_dump(mode="json")
    return {
        "checksum": data["checksum"],
        "created_at": data["created_at"] or created_at.isoformat(),
        "description": data["description"],
        "extras": data["extras"],
        "filesize": data["filesize"],
        "filetype": data["filetype"],
        "format": data["format"],
        "harvest": data["harvest"] or {"issued_at": None, "modified_at": None, "uri": None},
        "id": data["id"] or new_id(),
        "internal": {"created_at_internal": created_at.isoformat(), "last_modified_internal": stamp},
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
    return OrganizationRef(id=org_id).to_json() if org_id else None


def _owner(owner_id: str | None) -> dict[str, Any] | None:
    return UserRef(id=owner_id).to_json() if owner_id else None
